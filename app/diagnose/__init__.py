"""Recognisers that turn config, log lines, error texts and probe results into `Finding`s with repairs.

Everything here is pure: no connection, no engine, no remote. The engine gathers the inputs, calls:

- `tainted_volume.needs_password_probe` / `recognise_tainted_volume` (with `postgres.password_probe` to run
  and `postgres.interpret` to read its result; `tainted_volume.wipe_plan` for the back-up-then-wipe parts)
- `registry_http.recognise_plain_http_registry`
- `image_refs.recognise_image_references`
- `secret_hazards.recognise_secret_hazards`
- `proxy_version.recognise_old_proxy`
- `healthcheck.recognise_failed_health_check`
- `deploy_lock.recognise_stale_lock`

and runs a chosen `Repair`'s steps; `scram.alter_role_payload` builds the reset's stdin at that moment.
"""
