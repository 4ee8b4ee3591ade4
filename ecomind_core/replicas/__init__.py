"""Read replicas: which reads may go to a streaming replica (``replicated.py``) and the router that sends them (``router.py``).

Active only when ``DATABASE_REPLICA_URL`` is set (ecomind/settings.py);
docs/scale-out.md says what goes where and what replication lag means for it.
"""
