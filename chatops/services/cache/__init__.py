"""The cache manager: agents' task outputs kept under one root, indexed in the store, cleaned by
size and age without ever touching a task that is still running."""
