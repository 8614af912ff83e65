/**
 * Writing the wire format (`schema_registry.produce`): a message sender that frames what goes to the
 * alerts and dead-letter topics with the id of the schema registered for it (`<topic>-value`), as
 * JSON (the JSON text behind the 5-byte header) or Avro (the record re-encoded with `avsc`), so a
 * downstream Flink, ksqlDB or Connect consumer decodes them without configuration. The ids are
 * looked up on the first send (registered when missing and `schema_registry.register` is on); while
 * the registry cannot be reached the send fails and the batch is retried, like a broker outage.
 *
 * @module
 */
import avro from "avsc";
import type { Config } from "../config/schema.ts";
import { RegistryClient, type SchemaToRegister } from "./client.ts";
import { producedSubjects } from "./subjects.ts";
import { frame } from "./wire.ts";

/** A message as the agent's senders take it (the part the framing reads and rewrites). */
export interface FramableMessage {
  topic: string;
  value?: Buffer | Uint8Array | null | string;
}

/** What the framing asks of the registry. */
export interface SubjectRegistry {
  lookup(subject: string, schema: SchemaToRegister): Promise<number | undefined>;
  register(subject: string, schema: SchemaToRegister): Promise<number>;
}

/** Frames one message's JSON value; undefined for a topic the agent does not frame. */
type TopicFramer = (json: Uint8Array) => Uint8Array;

/** How each framed topic's values become framed bytes, once the ids are known. */
export class MessageFramer {
  readonly #config: Config;
  readonly #registry: SubjectRegistry;
  #framers: Map<string, TopicFramer> | undefined;

  /** Frames the topics of `config` with ids from `registry`. */
  constructor(config: Config, registry: SubjectRegistry) {
    this.#config = config;
    this.#registry = registry;
  }

  /** Looks the ids up (once); throws while the registry cannot be reached or a subject is missing. */
  async ready(): Promise<void> {
    if (this.#framers !== undefined) return;
    const framers = new Map<string, TopicFramer>();
    const avroFormat = this.#config.schema_registry.produce === "avro";
    for (const [topic, { subject, schema }] of this.#topics()) {
      let id = await this.#registry.lookup(subject, schema);
      if (id === undefined) {
        if (!this.#config.schema_registry.register) {
          throw new Error(
            `${subject} does not hold this build's schema: run eventops schemas push (schema_registry.produce)`,
          );
        }
        id = await this.#registry.register(subject, schema);
      }
      const schemaId = id;
      if (avroFormat) {
        const type = avro.Type.forSchema(JSON.parse(schema.schema), { wrapUnions: false });
        framers.set(
          topic,
          (json) => frame(schemaId, type.toBuffer(JSON.parse(new TextDecoder().decode(json)))),
        );
      } else {
        framers.set(topic, (json) => frame(schemaId, json));
      }
    }
    this.#framers = framers;
  }

  #topics(): [string, { subject: string; schema: SchemaToRegister }][] {
    const [alerts, dlq] = producedSubjects(this.#config);
    return [[this.#config.topics.alerts, alerts], [this.#config.topics.dlq, dlq]];
  }

  /** `message` framed when its topic is framed (after {@link ready}); else itself. */
  frame<M extends FramableMessage>(message: M): M {
    const framer = this.#framers?.get(message.topic);
    if (framer === undefined || message.value === undefined || message.value === null) return message;
    const bytes = typeof message.value === "string" ? new TextEncoder().encode(message.value) : message.value;
    return { ...message, value: Buffer.from(framer(bytes)) };
  }
}

/** A sender of messages: the agent's producers and stand-ins. */
export interface Sender<M> {
  send(request: { messages: M[] }): Promise<unknown>;
}

/** `sender` with the alerts and dead letters framed (`schema_registry.produce` not `off`), else `sender`. */
export function framingSender<M extends FramableMessage>(
  sender: Sender<M>,
  framer: MessageFramer | undefined,
): Sender<M> {
  if (framer === undefined) return sender;
  return {
    send: async ({ messages }) => {
      await framer.ready();
      return await sender.send({ messages: messages.map((message) => framer.frame(message)) });
    },
  };
}

/** The framer of `config` (`schema_registry.produce` not `off`, `url` set), else undefined. */
export function framerOf(config: Config): MessageFramer | undefined {
  const { url, produce } = config.schema_registry;
  if (url === "" || produce === "off") return undefined;
  return new MessageFramer(config, new RegistryClient(config.schema_registry));
}
