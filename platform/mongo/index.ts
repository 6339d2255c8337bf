// The platform's MongoDB pieces, for a service with `storage: "own"` on MongoDB: the client and
// transactions, the outbox (enqueue in the change's transaction, a source for the one relay)
// and the consumer's inbox.
export { connectMongo, databaseOf, STANDALONE_MESSAGE, type Mongo, type MongoOptions } from "./mongo.js";
export { createMongoOutboxSource, ensureMongoOutbox, enqueueMongoEvent, OUTBOX_COLLECTION, type MongoOutboxIndexOptions, type MongoOutboxSourceOptions } from "./outbox.js";
export { createMongoInbox, ensureMongoInbox, INBOX_COLLECTION } from "./inbox.js";
