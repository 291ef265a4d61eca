// The PostgreSQL backend when connections go away: a connection terminated by the database is
// made again and the next transaction succeeds; a transaction cut off in the middle answers
// 503 and leaves nothing behind; a connection string with several hosts reaches the one that
// answers; the prepared-statement cache stays within its bound. On the test PostgreSQL of the
// server_pg fixture.

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "mimamori/server/store.h"
#include "store/backend.h"
#include "store/sql.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

// Runs one statement on a connection of its own; the first cell of its answer.
std::string admin_query(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  std::string out;
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
      ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
    }
    PQclear(r);
  } else {
    ADD_FAILURE() << "cannot connect: " << PQerrorMessage(c);
  }
  PQfinish(c);
  return out;
}

int64_t select_int(StoreBackend& b, const std::string& sql, Status* st = nullptr) {
  int64_t v = -1;
  Status s = b.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(sql);
    if (!r.ok()) return r.error();
    v = r->i64(0, 0);
    return {};
  });
  if (st) *st = s;
  EXPECT_TRUE(st || s.ok()) << sql << ": " << s.error().message;
  return v;
}

TEST(PgReconnect, TerminatedConnectionsAreMadeAgain) {
  std::string why;
  const std::string url = fresh_store_url("postgres", &why);
  if (url.empty()) GTEST_SKIP() << why;
  StoreOptions o;
  o.url = url + "?application_name=mm_reconnect_test";
  o.connections = 1;
  auto b = open_postgres_backend(o, o.url);
  ASSERT_TRUE(b.ok()) << b.error().message;
  auto& backend = **b;
  ASSERT_EQ(select_int(backend, "SELECT 41 + 1"), 42);
  EXPECT_TRUE(backend.state().up);
  EXPECT_EQ(backend.state().reconnects, 0);

  // The database ends every connection of the pool (as a restart or a fail-over would).
  const std::string killed =
      admin_query(url,
                  "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                  "WHERE application_name = 'mm_reconnect_test'");
  ASSERT_EQ(killed, "3");  // connections + 2
  // The next transaction finds its connection gone before it began: made again, it succeeds.
  Status st = backend.transact(true, [](SqlTx& tx) -> Status {
    auto r = tx.q("CREATE TABLE kept (a INTEGER)");
    return r.ok() ? Status{} : Status(r.error());
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  auto s = backend.state();
  EXPECT_TRUE(s.up);
  EXPECT_EQ(s.lost, 1);
  EXPECT_GE(s.reconnects, 1);
  EXPECT_FALSE(s.last_error.empty());

  // Cut off in the middle: 503, and what it did before is not there.
  st = backend.transact(true, [](SqlTx& tx) -> Status {
    if (auto r = tx.q("CREATE TABLE lost (a INTEGER)"); !r.ok()) return r.error();
    auto r = tx.q("SELECT pg_terminate_backend(pg_backend_pid())");
    return r.ok() ? Status{} : Status(r.error());
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, 503) << st.error().message;
  EXPECT_EQ(select_int(backend, "SELECT count(*) FROM pg_tables WHERE tablename = 'lost'"), 0);
  EXPECT_EQ(select_int(backend, "SELECT count(*) FROM pg_tables WHERE tablename = 'kept'"), 1);
  s = backend.state();
  EXPECT_TRUE(s.up);
  EXPECT_EQ(s.lost, 2);
  EXPECT_GE(s.unavailable, 1);
}

TEST(PgReconnect, ConnectionStringWithSeveralHostsReachesTheOneThatAnswers) {
  std::string why;
  const std::string url = fresh_store_url("postgres", &why);
  if (url.empty()) GTEST_SKIP() << why;
  // postgresql://postgres@127.0.0.1:PORT/DB
  const size_t colon = url.rfind(':'), slash = url.rfind('/');
  const std::string port = url.substr(colon + 1, slash - colon - 1), db = url.substr(slash + 1);
  const uint16_t dead = free_port();  // nothing listens there
  const std::string conninfo = fmt::format(
      "host=127.0.0.1,127.0.0.1 port={},{} user=postgres dbname={} "
      "target_session_attrs=read-write",
      dead, port, db);
  EXPECT_TRUE(is_postgres_url(conninfo));
  EXPECT_TRUE(is_postgres_url("postgresql://a,b/db"));
  EXPECT_FALSE(is_postgres_url("sqlite:/var/lib/mimamori"));
  EXPECT_FALSE(is_postgres_url("/var/lib/mimamori"));
  EXPECT_FALSE(is_postgres_url("Host=a"));

  StoreOptions o;
  o.url = conninfo;
  auto store = open_store(o);  // the whole store: migrations through the connection string
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->backend_name(), "postgresql");
  EXPECT_GT(*(*store)->schema_version(), 0);
  EXPECT_EQ((*store)->database_state().server, "127.0.0.1:" + port);
}

TEST(PgReconnect, PreparedStatementCacheIsBounded) {
  std::string why;
  const std::string url = fresh_store_url("postgres", &why);
  if (url.empty()) GTEST_SKIP() << why;
  StoreOptions o;
  o.url = url;
  o.connections = 0;
  o.prepared_statements = 4;
  auto b = open_postgres_backend(o, o.url);
  ASSERT_TRUE(b.ok()) << b.error().message;
  auto& backend = **b;
  // Transactions one after another get the same connection (the pool hands out the last one
  // given back): 30 different statements on it.
  for (int k = 0; k < 30; ++k) {
    EXPECT_EQ(select_int(backend, fmt::format("SELECT {} + 1", k)), k + 1);
  }
  // The least recently used went: at most 4 kept between transactions, plus this query's own.
  const int64_t held = select_int(backend, "SELECT count(*) FROM pg_prepared_statements");
  EXPECT_GE(held, 1);
  EXPECT_LE(held, 5);
  EXPECT_LE(backend.state().prepared, 5);
  // A statement deallocated earlier is prepared again and answers as before; one used often
  // stays (it is the most recently used).
  for (int k = 0; k < 30; ++k) {
    EXPECT_EQ(select_int(backend, "SELECT 7 * 6"), 42);
    EXPECT_EQ(select_int(backend, fmt::format("SELECT {} + 1", k)), k + 1);
  }
  EXPECT_EQ(
      select_int(backend,
                 "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT 7 * 6'"),
      1);
  EXPECT_LE(select_int(backend, "SELECT count(*) FROM pg_prepared_statements"), 5);
}

}  // namespace
}  // namespace mimamori::server::testing
