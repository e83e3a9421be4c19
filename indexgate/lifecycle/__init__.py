"""A version's life after it is built:

- its id, and its manifest in the registry;
- the lock that lets one sync at a time touch an alias;
- promotion and rollback, and the smoke check after a swap;
- operator holds;
- recovery of what a dead run left;
- retention (gc)."""
