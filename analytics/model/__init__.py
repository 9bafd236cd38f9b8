"""Default-risk model: point-in-time features, two sklearn pipelines, out-of-time validation, monitoring,
artifacts and scoring. Commands: ``python -m analytics.model train | evaluate | score | fit-table``."""
