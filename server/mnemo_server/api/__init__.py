"""The gRPC surface: one servicer per proto service, plus auth and error
mapping. Servicers validate nothing themselves; the core does."""
