"""The sandbox's demo app: behaves toward a deploy like a small Rails 8 app (web + jobs roles).

It runs inside `shipdeck/demo-base:1` (Debian's python3, python3-psycopg2, python3-redis). Only the
standard library plus those two client libraries may be imported here, and the client libraries
only lazily, so the pure parts can be unit-tested without them.
"""
