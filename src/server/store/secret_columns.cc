// Secrets at rest: the columns that hold secrets, sealed under the key file (secrets.h). At
// every start the values an older version stored in plain text are sealed; a key rotation
// seals every value again under the new key, in one transaction.

#include <filesystem>

#include "mimamori/core/log.h"
#include "mimamori/server/store.h"
#include "secrets.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

struct SecretColumn {
  std::string_view table, column;
  bool target;  ///< a channel or outbox target: a secret for kSecretTargetKinds only
};

// Every column that holds a secret. Session and API tokens, enrollment codes and passwords are
// stored as hashes and need no key.
constexpr SecretColumn kSecretColumns[] = {
    {"users", "totp_secret", false}, {"channels", "secret", false}, {"channels", "target", true},
    {"outbox", "secret", false},     {"outbox", "target", true},
};

// The rows of `c` that hold a value, plus `extra`.
std::string where_valued(const SecretColumn& c, std::string_view extra) {
  std::string sql = fmt::format("{0} IS NOT NULL AND {0} <> ''", c.column);
  if (c.target) {
    std::string kinds;
    for (auto k : kSecretTargetKinds) kinds += fmt::format("{}'{}'", kinds.empty() ? "" : ", ", k);
    sql += fmt::format(" AND kind IN ({})", kinds);
  }
  if (!extra.empty()) sql += fmt::format(" AND {}", extra);
  return sql;
}

// Seals again, under the box's newest key, the values of every secret column (only those in
// plain text when `plain_only`); a value that does not open fails the whole transaction.
// Returns the count per table.column.
Result<std::vector<std::pair<std::string, int64_t>>> reseal(SqlTx& tx, const SecretBox& box,
                                                            bool plain_only) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& c : kSecretColumns) {
    const std::string name = fmt::format("{}.{}", c.table, c.column);
    auto rows = tx.q(fmt::format(
        "SELECT id, {} FROM {} WHERE {} ORDER BY id", c.column, c.table,
        where_valued(c, plain_only ? fmt::format("{} NOT LIKE '{}%'", c.column, SecretBox::kPrefix)
                                   : std::string())));
    if (!rows.ok()) return rows.error();
    int64_t n = 0;
    for (size_t i = 0; i < rows->size(); ++i) {
      const std::string stored = rows->str(i, 1);
      auto plain = plain_only ? Result<std::string>(stored)
                              : box.open(stored, fmt::format("{} of {}", name, rows->str(i, 0)));
      if (!plain.ok()) return plain.error();
      auto sealed = box.seal(*plain);
      if (!sealed.ok()) return sealed.error();
      // Compare-and-set: another instance sealing the same row at the same start wins once.
      auto u =
          tx.q(fmt::format("UPDATE {0} SET {1} = $2 WHERE id = $1 AND {1} = $3", c.table, c.column),
               {sp(rows->str(i, 0)), sp(*sealed), sp(stored)});
      if (!u.ok()) return u.error();
      n += u->affected;
    }
    out.emplace_back(name, n);
  }
  return out;
}

std::string summary(const std::vector<std::pair<std::string, int64_t>>& counts) {
  std::string out;
  for (const auto& [name, n] : counts) {
    if (n > 0) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, n);
  }
  return out;
}

int64_t total(const std::vector<std::pair<std::string, int64_t>>& counts) {
  int64_t n = 0;
  for (const auto& c : counts) n += c.second;
  return n;
}

}  // namespace

Status Store::seal_plain_secrets() {
  if (!secrets_->has_key()) return {};
  std::vector<std::pair<std::string, int64_t>> sealed;
  int64_t unreadable = 0;
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    auto r = reseal(tx, *secrets_, true);
    if (!r.ok()) return r.error();
    sealed = std::move(*r);
    // Values under a key this store does not hold cannot be read: said once here, and again
    // (naming the row) whenever one is read.
    for (const auto& c : kSecretColumns) {
      std::string cond = fmt::format("{} LIKE '{}%'", c.column, SecretBox::kPrefix);
      for (const auto& id : secrets_->key_ids()) {
        cond += fmt::format(" AND {} NOT LIKE '{}{}:%'", c.column, SecretBox::kPrefix, id);
      }
      auto n =
          tx.q(fmt::format("SELECT COUNT(*) FROM {} WHERE {}", c.table, where_valued(c, cond)));
      if (!n.ok()) return n.error();
      unreadable += n->i64(0, 0);
    }
    return {};
  });
  if (!st.ok()) return st;
  if (int64_t n = total(sealed); n > 0) {
    spdlog::warn(
        "{} secret value(s) stored in plain text by an older version are now sealed under "
        "key {} ({})",
        n, secrets_->key_id(), summary(sealed));
  }
  if (unreadable > 0) {
    spdlog::error(
        "{} secret value(s) are sealed under a key that {} does not hold: they cannot be read "
        "(was the database restored without its key file?)",
        unreadable, options_.secret_key_file);
  }
  if (std::filesystem::exists(old_key_file(options_.secret_key_file))) {
    spdlog::warn("{} exists: a key rotation was interrupted; run `mimamori admin rotate-key` again",
                 old_key_file(options_.secret_key_file).string());
  }
  return {};
}

Result<KeyRotation> Store::rotate_secret_key(
    const std::function<void(const std::string&)>& progress) {
  const std::filesystem::path file = options_.secret_key_file;
  if (file.empty()) return core::make_error("no secret key file is configured");
  const auto who = Principal::system("mimamori admin");
  KeyRotation out;
  // Seals every value under the newest key of the box loaded from the key files, in one
  // transaction, audited.
  auto reseal_all = [&](std::vector<std::pair<std::string, int64_t>>* counts) -> Status {
    auto box = SecretBox::load(file, false);
    if (!box.ok()) return box.error();
    *secrets_ = std::move(*box);
    return transact(true, [&](SqlTx& tx) -> Status {
      auto r = reseal(tx, *secrets_, false);
      if (!r.ok()) return r.error();
      *counts = std::move(*r);
      return audit_in(tx, who, "secret_key.rotate", "secret_key", secrets_->key_id(), {}, {},
                      fmt::format("{{\"values\":{}}}", total(*counts)), "ok");
    });
  };
  auto finish = [&]() -> Status {
    if (auto st = end_key_rotation(file); !st.ok()) return st;
    auto box = SecretBox::load(file, false);
    if (!box.ok()) return box.error();
    *secrets_ = std::move(*box);
    progress(fmt::format("removed {}", old_key_file(file).string()));
    return {};
  };
  if (std::filesystem::exists(old_key_file(file))) {
    progress(fmt::format("{} exists: finishing the interrupted rotation first",
                         old_key_file(file).string()));
    std::vector<std::pair<std::string, int64_t>> counts;
    if (auto st = reseal_all(&counts); !st.ok()) return st.error();
    out.finished_earlier = total(counts);
    progress(fmt::format("re-encrypted {} value(s) under key {}", out.finished_earlier,
                         secrets_->key_id()));
    if (auto st = finish(); !st.ok()) return st.error();
  }
  out.old_key_id = secrets_->key_id();
  auto next = begin_key_rotation(file);
  if (!next.ok()) return next.error();
  out.new_key_id = *next;
  progress(fmt::format("new key {} in {}; the old key {} kept in {} until the commit",
                       out.new_key_id, file.string(), out.old_key_id, old_key_file(file).string()));
  if (auto st = reseal_all(&out.per_column); !st.ok()) {
    return core::make_error(
        "{} (nothing was changed in the database; both keys are kept: run rotate-key again)",
        st.error().message);
  }
  out.values = total(out.per_column);
  progress(fmt::format("re-encrypted {} value(s) under key {}{}{}", out.values, out.new_key_id,
                       out.values > 0 ? ": " : "", summary(out.per_column)));
  if (auto st = finish(); !st.ok()) return st.error();
  return out;
}

}  // namespace mimamori::server
