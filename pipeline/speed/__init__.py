"""The speed layer: windowed views over newly landed learning events."""
