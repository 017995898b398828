"""Reusable dashboard widgets. They render the engine's public types (`app.engine.api`) and the
dashboard's state, and post messages; none of them talks to SSH, Docker or the engine itself."""
