//! The chocolate factory: its models and a seeded generator of twin updates.
