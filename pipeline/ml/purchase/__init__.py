"""Purchase (reorder) prediction, the seed's XGBoost on Instacart-shaped orders: a seeded order-history
generator (`generator`), the seed's Spark features (`features`), and training, evaluation, scoring and the
Kafka feature-record parser (`model`). Plain functions: the Dagster assets call them."""
