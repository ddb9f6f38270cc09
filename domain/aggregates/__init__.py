"""Event-sourced aggregates. Every event is a `Fact`: it says when it holds and who produced it."""
