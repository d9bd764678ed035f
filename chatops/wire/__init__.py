"""The wire: what crosses the monitor socket and who may say it.

``protocol`` defines every message (requests, replies, pushes) in one place; ``transport`` binds
the socket; ``peer`` says who is on the other end; ``connection`` frames, dispatches and answers
one client; ``server`` admits and tracks connections; ``handlers`` maps each request type to the
service method that serves it. No business logic lives here.
"""
