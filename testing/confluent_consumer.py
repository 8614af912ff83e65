"""A real registry-aware consumer for the tests: the Python confluent-kafka client with its Avro or
JSON Schema deserializer, given no schema (the writer's schema is fetched by the id in each message,
as a downstream Flink, ksqlDB or Connect consumer would).

Reads one JSON request on stdin:
  {"bootstrap": "127.0.0.1:9092", "registry": "http://127.0.0.1:8081", "topic": "...",
   "format": "avro" | "json", "count": 2, "timeout_s": 30}
Prints the first `count` decoded values of the topic as one JSON array on stdout. Exits 1 with the
error on stderr when they do not arrive in time or do not decode.
"""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def main() -> int:
    request = json.load(sys.stdin)
    registry = SchemaRegistryClient({"url": request["registry"]})
    if request["format"] == "avro":
        deserializer = AvroDeserializer(registry)
    else:
        deserializer = JSONDeserializer(None, schema_registry_client=registry)
    consumer = Consumer({
        "bootstrap.servers": request["bootstrap"],
        "group.id": f"test-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([request["topic"]])
    context = SerializationContext(request["topic"], MessageField.VALUE)
    values = []
    deadline = time.time() + request.get("timeout_s", 30)
    try:
        while len(values) < request["count"] and time.time() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                continue
            values.append(deserializer(message.value(), context))
    finally:
        consumer.close()
    if len(values) < request["count"]:
        print(f"only {len(values)} of {request['count']} values arrived: {values}", file=sys.stderr)
        return 1
    print(json.dumps(values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
