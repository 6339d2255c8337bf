// Profiles, the address book (own addresses only) and the admin RPCs, on a real port against
// real PostgreSQL.
import assert from "node:assert/strict";
import { UserRolesChangedSchema } from "../../../gen/shop/users/v1/events_pb.js";
import { Code } from "../../../platform/errors.js";
import { startService } from "../../../platform/service.js";
import { createUsersModule } from "../module.js";
import { as, jwksVerifier, outboxEvents, PASSWORD, registerUser, rejectionOf, startUsers, TEST_ENV, uniqueEmail, type RunningUsers } from "./helpers.js";

const home = { recipientName: "Ann Lee", line1: "1 Main St", line2: "", city: "Springfield", region: "IL", postalCode: "62701", countryCode: "US", phone: "" };
const work = { ...home, line1: "500 Office Park" };

describe("users service: profiles, addresses and admin (real PostgreSQL)", () => {
  let svc: RunningUsers;
  const adminEmail = uniqueEmail("admin");

  before(async () => {
    svc = await startUsers({ ADMIN_EMAIL: ` ${adminEmail.toUpperCase()} ` });
  });
  after(async () => {
    await svc.stop();
  });

  describe("profile", () => {
    it("reads and renames the caller's own account", async () => {
      const { accessToken, user } = await registerUser(svc.client, { displayName: "Ann" });
      const renamed = await svc.client.updateProfile({ displayName: "  Ann Lee " }, as(accessToken));
      assert.equal(renamed.user!.displayName, "Ann Lee");
      assert.equal((await svc.client.getProfile({}, as(accessToken))).user!.displayName, "Ann Lee");
      assert.equal((await svc.client.getProfile({}, as(accessToken))).user!.id, user.id);
      const blank = await rejectionOf(svc.client.updateProfile({ displayName: "   " }, as(accessToken)));
      assert.equal(blank.code, Code.INVALID_ARGUMENT);
    });
  });

  describe("address book", () => {
    it("makes the first address the default, moves the default, and lists the default first", async () => {
      const { accessToken } = await registerUser(svc.client);
      const a = (await svc.client.addAddress({ label: "Home", address: home, isDefault: false }, as(accessToken))).address!;
      assert.equal(a.isDefault, true, "the first address becomes the default");
      const b = (await svc.client.addAddress({ label: "Work", address: work, isDefault: true }, as(accessToken))).address!;
      const c = (await svc.client.addAddress({ label: "Gran", address: home, isDefault: false }, as(accessToken))).address!;
      const list = await svc.client.listAddresses({}, as(accessToken));
      assert.deepEqual(list.addresses.map((x) => [x.label, x.isDefault]), [["Work", true], ["Home", false], ["Gran", false]]);
      assert.deepEqual(list.addresses[0]!.address, { ...b.address });

      // Keyset pages of one walk the same order.
      const seen: string[] = [];
      let token = "";
      do {
        const page = await svc.client.listAddresses({ pageSize: 1, pageToken: token }, as(accessToken));
        seen.push(...page.addresses.map((x) => x.id));
        token = page.nextPageToken;
      } while (token);
      assert.deepEqual(seen, [b.id, a.id, c.id]);

      const updated = await svc.client.updateAddress({ addressId: c.id, label: "Gran's", address: work, isDefault: true }, as(accessToken));
      assert.equal(updated.address!.label, "Gran's");
      assert.equal(updated.address!.address!.line1, work.line1);
      const after = await svc.client.listAddresses({}, as(accessToken));
      assert.deepEqual(after.addresses.filter((x) => x.isDefault).map((x) => x.id), [c.id]);

      await svc.client.deleteAddress({ addressId: a.id }, as(accessToken));
      assert.equal((await rejectionOf(svc.client.deleteAddress({ addressId: a.id }, as(accessToken)))).code, Code.NOT_FOUND);
      assert.equal((await svc.client.listAddresses({}, as(accessToken))).addresses.length, 2);
    });

    it("treats another user's address as not found, for every operation", async () => {
      const owner = await registerUser(svc.client);
      const other = await registerUser(svc.client);
      const mine = (await svc.client.addAddress({ label: "Home", address: home, isDefault: true }, as(owner.accessToken))).address!;

      assert.deepEqual((await svc.client.listAddresses({}, as(other.accessToken))).addresses, []);
      const update = await rejectionOf(svc.client.updateAddress({ addressId: mine.id, label: "Mine now", address: work, isDefault: true }, as(other.accessToken)));
      assert.equal(update.code, Code.NOT_FOUND);
      const del = await rejectionOf(svc.client.deleteAddress({ addressId: mine.id }, as(other.accessToken)));
      assert.equal(del.code, Code.NOT_FOUND);

      const still = (await svc.client.listAddresses({}, as(owner.accessToken))).addresses;
      assert.deepEqual(still.map((x) => [x.id, x.label, x.isDefault, x.address?.line1]), [[mine.id, "Home", true, home.line1]]);
    });

    it("rejects an address that breaks the contract's rules before it is stored", async () => {
      const { accessToken } = await registerUser(svc.client);
      const err = await rejectionOf(svc.client.addAddress({ label: "Bad", address: { ...home, countryCode: "usa" }, isDefault: false }, as(accessToken)));
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.deepEqual((await svc.client.listAddresses({}, as(accessToken))).addresses, []);
    });
  });

  describe("admin", () => {
    let admin: Awaited<ReturnType<typeof registerUser>>;
    before(async () => {
      admin = await registerUser(svc.client, { email: adminEmail });
    });

    it("gives the ADMIN_EMAIL account the admin role when it registers", async () => {
      assert.deepEqual(admin.user.roles, ["customer", "admin"]);
      assert.deepEqual((await jwksVerifier(svc.client).verify(admin.accessToken)).roles, ["customer", "admin"]);
    });

    it("gives an existing ADMIN_EMAIL account the admin role at start-up", async () => {
      const later = await registerUser(svc.client);
      assert.deepEqual(later.user.roles, ["customer"]);
      const second = await startService(createUsersModule(), { ...TEST_ENV, DATABASE_URL: svc.tdb.url, ADMIN_EMAIL: later.email });
      await second.stop();
      const got = await svc.client.getUser({ userId: later.user.id }, as(admin.accessToken));
      assert.deepEqual(got.user!.roles, ["customer", "admin"]);
      const events = (await outboxEvents(svc.db, UserRolesChangedSchema)).filter((e) => e.userId === later.user.id);
      assert.deepEqual(events.map((e) => [e.oldRoles, e.newRoles, e.changedByUserId]), [[["customer"], ["customer", "admin"], ""]]);
    });

    it("reads any account, and NOT_FOUND for an unknown id", async () => {
      const { user } = await registerUser(svc.client);
      assert.equal((await svc.client.getUser({ userId: user.id }, as(admin.accessToken))).user!.email, user.email);
      const err = await rejectionOf(svc.client.getUser({ userId: "00000000-0000-4000-8000-000000000000" }, as(admin.accessToken)));
      assert.equal(err.code, Code.NOT_FOUND);
    });

    it("lists accounts oldest first in keyset pages, filtered by email prefix and role", async () => {
      const prefix = `list-${Date.now().toString(36)}`;
      const created = [];
      for (let i = 0; i < 5; i++) created.push((await registerUser(svc.client, { email: `${prefix}-${i}@example.test` })).user);
      const ids: string[] = [];
      let token = "";
      do {
        const page = await svc.client.listUsers({ pageSize: 2, pageToken: token, emailPrefix: prefix.toUpperCase() }, as(admin.accessToken));
        assert.ok(page.users.length <= 2);
        ids.push(...page.users.map((u) => u.id));
        token = page.nextPageToken;
      } while (token);
      assert.deepEqual(ids, created.map((u) => u.id));

      const admins = await svc.client.listUsers({ role: "admin", pageSize: 100 }, as(admin.accessToken));
      assert.ok(admins.users.some((u) => u.id === admin.user.id));
      assert.ok(admins.users.every((u) => u.roles.includes("admin")));
      // LIKE's wildcards in the prefix are literal characters.
      assert.deepEqual((await svc.client.listUsers({ emailPrefix: "%" }, as(admin.accessToken))).users, []);
      assert.equal((await rejectionOf(svc.client.listUsers({ pageToken: "garbage" }, as(admin.accessToken)))).code, Code.INVALID_ARGUMENT);
    });

    it("replaces a user's roles, emits UserRolesChanged once, and the next token carries them", async () => {
      const target = await registerUser(svc.client);
      const res = await svc.client.setUserRoles({ userId: target.user.id, roles: ["admin", "customer"] }, as(admin.accessToken));
      assert.deepEqual(res.user!.roles, ["customer", "admin"]);
      await svc.client.setUserRoles({ userId: target.user.id, roles: ["customer", "admin"] }, as(admin.accessToken)); // no change, no event
      const events = (await outboxEvents(svc.db, UserRolesChangedSchema)).filter((e) => e.userId === target.user.id);
      assert.deepEqual(events.map((e) => [e.oldRoles, e.newRoles, e.changedByUserId]), [[["customer"], ["customer", "admin"], admin.user.id]]);
      const relogin = (await svc.client.login({ email: target.email, password: PASSWORD })).tokens!;
      assert.deepEqual((await jwksVerifier(svc.client).verify(relogin.accessToken)).roles, ["customer", "admin"]);
    });

    it("does not let an admin remove their own admin role", async () => {
      const err = await rejectionOf(svc.client.setUserRoles({ userId: admin.user.id, roles: ["customer"] }, as(admin.accessToken)));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
    });

    // Enforced by the platform's server pipeline from the contract's access level.
    it("refuses admin RPCs to a customer with PERMISSION_DENIED, and to an anonymous caller with UNAUTHENTICATED", async () => {
      const customer = await registerUser(svc.client);
      const denied = await rejectionOf(svc.client.setUserRoles({ userId: customer.user.id, roles: ["customer", "admin"] }, as(customer.accessToken)));
      assert.equal(denied.code, Code.PERMISSION_DENIED);
      assert.equal((await rejectionOf(svc.client.listUsers({}, as(customer.accessToken)))).code, Code.PERMISSION_DENIED);
      assert.equal((await rejectionOf(svc.client.getUser({ userId: customer.user.id }))).code, Code.UNAUTHENTICATED);
      assert.deepEqual((await svc.client.getProfile({}, as(customer.accessToken))).user!.roles, ["customer"]);
    });
  });
});
