"""A real registry-aware producer for the tests: the Python confluent-kafka client with its Avro or
JSON Schema serializer (the Confluent wire format: magic byte 0, 4-byte schema id, payload).

Reads one JSON request on stdin:
  {"bootstrap": "127.0.0.1:9092", "registry": "http://127.0.0.1:8081", "topic": "...",
   "format": "avro" | "json", "schema": "<schema text>", "events": [{...}, ...], "key": "host-a",
   "auto_register": true, "subject_strategy": "topic" | "record"}
Sends each event as one message (the serializer registers the schema under <topic>-value), flushes,
and prints {"sent": N, "schema_id": ID} on stdout. Exits 1 with the error on stderr on failure.
"""
import json
import sys

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry import record_subject_name_strategy
from confluent_kafka.serialization import MessageField, SerializationContext


def main() -> int:
    request = json.load(sys.stdin)
    registry = SchemaRegistryClient({"url": request["registry"]})
    conf = {"auto.register.schemas": request.get("auto_register", True)}
    if request.get("subject_strategy") == "record":
        # Subject named after the record (Avro full name, JSON Schema title), not the topic.
        conf["subject.name.strategy"] = record_subject_name_strategy
    if request["format"] == "avro":
        serializer = AvroSerializer(registry, request["schema"], conf=conf)
    else:
        serializer = JSONSerializer(request["schema"], registry, conf=conf)
    producer = Producer({"bootstrap.servers": request["bootstrap"], "linger.ms": 5})
    errors = []
    context = SerializationContext(request["topic"], MessageField.VALUE)
    schema_id = None
    for event in request["events"]:
        value = serializer(event, context)
        schema_id = int.from_bytes(value[1:5], "big")
        producer.produce(
            request["topic"],
            key=request.get("key"),
            value=value,
            on_delivery=lambda err, _msg: errors.append(str(err)) if err else None,
        )
    left = producer.flush(30)
    if left or errors:
        print(f"not delivered: {left} left, errors {errors}", file=sys.stderr)
        return 1
    print(json.dumps({"sent": len(request["events"]), "schema_id": schema_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
