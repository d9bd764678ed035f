"""The socket door: every request handler, and every conversion between wire messages and
domain values. Handlers build a caller from the peer, call a service, and map its answer or its
domain error to the protocol."""
