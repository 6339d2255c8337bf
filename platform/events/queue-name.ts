// Every consumer's queue is named `<exchange>.<service>.<stream>` (`shop.events.shipping.orders`):
// an operator reads off a queue which service drains it and for what, queues of two shops sharing
// a broker (or of two test runs sharing a vhost) never collide, and the dead-letter queue beside
// it carries the same name plus `.dlq`.

/** `stream` names what the queue carries for its service, in kebab-case: `orders`, `stock-levels`. */
export function queueName(exchange: string, service: string, stream: string): string {
  return `${exchange}.${service}.${stream}`;
}
