// `mimamori admin …`: set up a server's store without a browser (first admin, customers,
// enrollment codes, threat indicators, the key that seals stored secrets). Runs on the server
// machine against the same store the server uses.

#include <charconv>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/config.h"
#include "mimamori/server/server.h"
#include "mimamori/server/store.h"

namespace mimamori::cli {
namespace {

struct StoreArgs {
  std::string config_file, data_dir, store_url;
  std::vector<std::string> sets;
};

void add_store_options(CLI::App* cmd, StoreArgs& a) {
  cmd->add_option("-c,--config", a.config_file, "the server's YAML configuration");
  cmd->add_option("--data-dir", a.data_dir, "the server's data directory (SQLite)");
  cmd->add_option("--store", a.store_url, "store URL: sqlite:DIR or postgresql://…");
  cmd->add_option("--set", a.sets, "override a configuration key: key=value")->take_all();
}

std::unique_ptr<server::Store> open_store(const StoreArgs& a) {
  auto config = a.config_file.empty() ? core::Config::from_string("{}", "<defaults>")
                                      : core::Config::load_file(a.config_file);
  for (const auto& s : a.sets) config.set(s);
  if (!a.data_dir.empty()) config.set("server.data_dir=" + a.data_dir);
  if (!a.store_url.empty()) config.set("store.url=" + a.store_url);
  auto options = server::load_server_options(config);
  auto store = server::open_store(options.store);
  if (!store.ok()) {
    std::fprintf(stderr, "mimamori admin: cannot open the store: %s\n",
                 store.error().message.c_str());
    throw CLI::RuntimeError(1);
  }
  return std::move(*store);
}

[[noreturn]] void fail(const core::Error& e) {
  std::fprintf(stderr, "mimamori admin: %s\n", e.message.c_str());
  throw CLI::RuntimeError(1);
}

std::string read_password(const std::string& given, bool from_stdin) {
  if (!from_stdin) return given;
  std::string line;
  std::getline(std::cin, line);
  return line;
}

// `mimamori admin threat add|list|remove`: the provider's threat indicators, which every device
// receives with its configuration.
void add_threat_commands(CLI::App& admin, const std::shared_ptr<StoreArgs>& args) {
  auto* threat = admin.add_subcommand("threat", "threat indicators sent to every device");
  threat->require_subcommand(1);
  const auto who = server::Principal::system("mimamori admin");

  auto* add = threat->add_subcommand("add", "add an IP address, CIDR block or domain (prints id)");
  auto value = std::make_shared<std::string>();
  auto source = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  auto expires = std::make_shared<std::string>();
  add_store_options(add, *args);
  add->add_option("value", *value, "203.0.113.7, 198.51.100.0/24 or c2.example.net")->required();
  add->add_option("--source", *source, "where it comes from (feed, report, case)")->required();
  add->add_option("--reason", *reason, "why devices should watch for it");
  add->add_option("--expires", *expires, "expiry as an EVE time, or a duration: 12h, 30d");
  add->callback([=] {
    server::ThreatIndicator t;
    t.value = *value;
    t.source = *source;
    t.reason = *reason;
    if (!expires->empty()) {
      const std::string& e = *expires;
      const char unit = e.back();
      const int64_t per = unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
      int64_t n = 0;
      auto [p, ec] = std::from_chars(e.data(), e.data() + e.size() - 1, n);
      if (per != 0 && ec == std::errc() && p == e.data() + e.size() - 1 && n > 0) {
        t.expires_at = core::now().micros + n * per * 1000000;
      } else if (auto at = core::parse_time(e); at.ok()) {
        t.expires_at = at->micros;
      } else {
        fail(core::make_error("--expires '{}' is neither a duration (12h, 30d) nor a time: {}", e,
                              at.error().message));
      }
    }
    auto store = open_store(*args);
    auto r = store->create_threat(who, std::move(t));
    if (!r.ok()) fail(r.error());
    std::printf("%s\n", r->id.c_str());
  });

  auto* list = threat->add_subcommand("list", "list live indicators (tab-separated)");
  auto all = std::make_shared<bool>(false);
  add_store_options(list, *args);
  list->add_flag("--all", *all, "include removed and expired indicators");
  list->callback([=] {
    auto store = open_store(*args);
    auto r = store->list_threats(who, *all);
    if (!r.ok()) fail(r.error());
    auto when = [](int64_t t) { return t == 0 ? std::string("-") : core::format_eve_time({t}); };
    for (const auto& t : *r) {
      std::printf("%s\t%s\t%s\t%s\texpires=%s%s\t%s\n", t.id.c_str(), t.kind.c_str(),
                  t.value.c_str(), t.source.c_str(), when(t.expires_at).c_str(),
                  t.removed_at ? (" removed=" + when(t.removed_at)).c_str() : "", t.reason.c_str());
    }
  });

  auto* remove = threat->add_subcommand("remove", "remove an indicator by id");
  auto id = std::make_shared<std::string>();
  add_store_options(remove, *args);
  remove->add_option("id", *id, "indicator id (thr_…)")->required();
  remove->callback([=] {
    auto store = open_store(*args);
    if (auto st = store->remove_threat(who, *id); !st.ok()) fail(st.error());
    std::printf("removed %s\n", id->c_str());
  });
}

}  // namespace

void add_admin_commands(CLI::App& app) {
  auto* admin = app.add_subcommand("admin", "set up and administer a mimamori-server store");
  admin->require_subcommand(1);
  add_admin_import_command(*admin);
  add_admin_backup_commands(*admin);
  add_admin_selfcheck_command(*admin);
  add_admin_catalogue_command(*admin);
  add_admin_report_mail_command(*admin);
  add_admin_events_commands(*admin);

  auto args = std::make_shared<StoreArgs>();

  auto* init = admin->add_subcommand("init", "create the provider and its first provider_admin");
  auto init_provider = std::make_shared<std::string>();
  auto init_email = std::make_shared<std::string>();
  auto init_password = std::make_shared<std::string>();
  auto init_stdin = std::make_shared<bool>(false);
  add_store_options(init, *args);
  init->add_option("--provider", *init_provider, "the provider's name")->required();
  init->add_option("--email", *init_email, "the first admin's e-mail (login)")->required();
  init->add_option("--password", *init_password, "the first admin's password (12+ characters)");
  init->add_flag("--password-stdin", *init_stdin, "read the password from standard input");
  init->callback([=] {
    auto store = open_store(*args);
    auto u = store->init_provider(*init_provider, *init_email,
                                  read_password(*init_password, *init_stdin));
    if (!u.ok()) fail(u.error());
    std::printf("provider '%s' created; provider_admin %s (%s)\n", init_provider->c_str(),
                u->email.c_str(), u->id.c_str());
  });

  auto* customer = admin->add_subcommand("customer", "customers");
  customer->require_subcommand(1);
  auto* add = customer->add_subcommand("add", "add a customer (prints its id)");
  auto name = std::make_shared<std::string>();
  add_store_options(add, *args);
  auto prefecture = std::make_shared<std::string>();
  add->add_option("--name", *name, "the customer's name")->required();
  add->add_option("--prefecture", *prefecture, "where technicians visit it (東京都 …)");
  add->callback([=] {
    auto store = open_store(*args);
    auto c =
        store->create_customer(server::Principal::system("mimamori admin"), *name, *prefecture);
    if (!c.ok()) fail(c.error());
    std::printf("%s\n", c->id.c_str());
  });
  auto* pref = customer->add_subcommand(
      "prefecture", "record the prefecture where a customer is served on site (\"\" clears it)");
  auto pcust = std::make_shared<std::string>();
  auto pname = std::make_shared<std::string>();
  add_store_options(pref, *args);
  pref->add_option("customer", *pcust, "customer id")->required();
  pref->add_option("prefecture", *pname, "one of the 47 (東京都, 大阪府 …)")->required();
  pref->callback([=] {
    auto store = open_store(*args);
    auto c =
        store->set_customer_prefecture(server::Principal::system("mimamori admin"), *pcust, *pname);
    if (!c.ok()) fail(c.error());
    std::printf("%s\t%s\t%s\n", c->id.c_str(), c->name.c_str(), c->prefecture.c_str());
  });

  auto* code = admin->add_subcommand("enroll-code", "create an enrollment code for a customer");
  auto cust = std::make_shared<std::string>();
  auto site = std::make_shared<std::string>();
  auto ttl = std::make_shared<int64_t>(0);
  auto count = std::make_shared<int>(1);
  add_store_options(code, *args);
  code->add_option("--count", *count, "how many codes to print, one a line (default 1)")
      ->check(CLI::Range(1, 100000));
  code->add_option("--customer", *cust, "customer id")->required();
  code->add_option("--site", *site, "site id (default: the customer's first site)");
  code->add_option("--ttl", *ttl, "lifetime in seconds (default 24 hours)");
  code->callback([=] {
    auto store = open_store(*args);
    for (int i = 0; i < *count; ++i) {
      auto c = store->create_enrollment_code(server::Principal::system("mimamori admin"), *cust,
                                             *site, *ttl);
      if (!c.ok()) fail(c.error());
      std::printf("%s\n", c->code.c_str());
    }
  });

  auto* user = admin->add_subcommand("user", "users");
  user->require_subcommand(1);
  auto* uadd = user->add_subcommand("add", "add a user");
  auto uemail = std::make_shared<std::string>();
  auto urole = std::make_shared<std::string>();
  auto ucust = std::make_shared<std::string>();
  auto upass = std::make_shared<std::string>();
  auto ustdin = std::make_shared<bool>(false);
  add_store_options(uadd, *args);
  uadd->add_option("--email", *uemail, "e-mail (login)")->required();
  uadd->add_option("--role", *urole,
                   "provider_admin, analyst, technician, desk, customer_admin, customer_user")
      ->required();
  uadd->add_option("--customer", *ucust, "customer id (customer roles)");
  uadd->add_option("--password", *upass, "password (12+ characters)");
  uadd->add_flag("--password-stdin", *ustdin, "read the password from standard input");
  uadd->callback([=] {
    auto role = server::parse_role(*urole);
    if (!role) fail(core::make_error("role '{}' is unknown", *urole));
    auto store = open_store(*args);
    auto u = store->create_user(server::Principal::system("mimamori admin"), *uemail, *uemail,
                                read_password(*upass, *ustdin), *role, *ucust);
    if (!u.ok()) fail(u.error());
    std::printf("%s\n", u->id.c_str());
  });

  add_threat_commands(*admin, args);

  auto* rotate = admin->add_subcommand(
      "rotate-key",
      "seal every stored secret under a new key (stop the server first, start it after)");
  add_store_options(rotate, *args);
  rotate->callback([=] {
    auto store = open_store(*args);
    auto r = store->rotate_secret_key([](const std::string& step) {
      std::printf("%s\n", step.c_str());
      std::fflush(stdout);
    });
    if (!r.ok()) fail(r.error());
    std::printf("key rotated: %lld value(s) re-encrypted, key %s replaced by %s\n",
                static_cast<long long>(r->values), r->old_key_id.c_str(), r->new_key_id.c_str());
  });
}

}  // namespace mimamori::cli
