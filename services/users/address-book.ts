// The caller's saved addresses. Every query is scoped by the caller's user id, so another
// user's address is indistinguishable from one that does not exist (NOT_FOUND).
//
// Each change first locks the account row: changes to one user's book then run one at a
// time, which keeps the size cap exact and the "one default" swap free of races (the unique
// index would otherwise turn a race into an error).
import { randomUUID } from "node:crypto";
import type { Queryable } from "../../platform/db/db.js";
import { notFound, resourceExhausted } from "../../platform/errors.js";
import { decodePageToken, encodePageToken, pageSize } from "../../platform/page-token.js";
import type { AddressFields, AddressRecord, UsersStore } from "./store.js";

/** A book bigger than this is abuse, not shopping. */
export const MAX_ADDRESSES = 50;

export interface AddressInput {
  readonly label: string;
  readonly address: AddressFields;
  readonly isDefault: boolean;
}

export interface AddressPage {
  readonly addresses: AddressRecord[];
  readonly nextPageToken: string;
}

const trimmed = (a: AddressFields): AddressFields => ({
  recipientName: a.recipientName.trim(),
  line1: a.line1.trim(),
  line2: a.line2.trim(),
  city: a.city.trim(),
  region: a.region.trim(),
  postalCode: a.postalCode.trim(),
  countryCode: a.countryCode,
  phone: a.phone.trim(),
});

export type AddressBook = ReturnType<typeof createAddressBook>;

export function createAddressBook({ users, clock }: { users: UsersStore; clock: () => Date }) {
  async function lockOwner(q: Queryable, userId: string): Promise<void> {
    if (!(await users.userById(q, userId, { lock: true }))) throw notFound("user");
  }

  return {
    async list(userId: string, req: { pageSize: number; pageToken: string }): Promise<AddressPage> {
      const limit = pageSize(req.pageSize);
      const rows = await users.listAddresses(users.db, userId, decodePageToken(req.pageToken), limit);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        addresses: page,
        nextPageToken: rows.length > limit && last ? encodePageToken({ time: last.createdAt, id: last.id, flag: last.isDefault }) : "",
      };
    },

    /** The first address of a book becomes its default whatever the request says. */
    async add(userId: string, input: AddressInput): Promise<AddressRecord> {
      return users.tx(async (q) => {
        await lockOwner(q, userId);
        const count = await users.countAddresses(q, userId);
        if (count >= MAX_ADDRESSES) throw resourceExhausted(`the address book is full (${MAX_ADDRESSES} addresses)`);
        const isDefault = input.isDefault || count === 0;
        if (isDefault) await users.clearDefault(q, userId);
        return users.insertAddress(q, userId, { id: randomUUID(), label: input.label.trim(), address: trimmed(input.address), isDefault, createdAt: clock() });
      });
    },

    async update(userId: string, id: string, input: AddressInput): Promise<AddressRecord> {
      return users.tx(async (q) => {
        await lockOwner(q, userId);
        if (!(await users.addressExists(q, userId, id))) throw notFound("address", id);
        if (input.isDefault) await users.clearDefault(q, userId);
        const updated = await users.updateAddress(q, userId, { id, label: input.label.trim(), address: trimmed(input.address), isDefault: input.isDefault }, clock());
        if (!updated) throw notFound("address", id);
        return updated;
      });
    },

    async remove(userId: string, id: string): Promise<void> {
      await users.tx(async (q) => {
        await lockOwner(q, userId);
        if (!(await users.deleteAddress(q, userId, id))) throw notFound("address", id);
      });
    },
  };
}
