"""The 37 analytic views of seed-facts §2 and the 4 serving views of §2.1, as pure PySpark functions."""
