"""IANA registries as packaged data files, and typed loaders for them.

`protoaudit.registry.tls` holds the TLS tables (cipher suites, supported groups, signature
schemes, extensions, alerts). Each CSV under ``data/`` opens with comment lines naming its
registry, its snapshot date and what was derived rather than copied. Code elsewhere never
spells a code point the registry has: it asks the registry.
"""
