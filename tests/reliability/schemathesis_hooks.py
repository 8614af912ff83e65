"""schemathesis hooks of tests/reliability/schemathesis_test.ts (SCHEMATHESIS_HOOKS).

The protobuf request bodies (POST /api/v1/write, POST /v1/metrics) have no serializer of their own in
schemathesis: send the generated value as bytes, as for application/octet-stream.
"""

import schemathesis
from schemathesis.transport.serialization import serialize_binary


@schemathesis.serializer("application/x-protobuf")
def protobuf(ctx, value):
    return {"data": serialize_binary(value)}
