// `mimamori admin self-check`: the ten registration requirements as the server's API shows
// them, read from the same store and configuration, with ✔/✘ and the evidence; `--evidence`
// writes a zip (self-check.json, a PDF summary, README.txt) for the registration body.
// Exit codes: 0 every requirement met, 1 one or more not, 2 an error (nothing half-written).
// `mimamori admin catalogue`: the registered plans and IPA's list of registered services.
// `mimamori admin report-mail`: a month's report mails now, as the scheduler does on the 1st.

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>

#include "commands.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/config.h"
#include "mimamori/core/hash.h"
#include "mimamori/server/report_mail.h"
#include "mimamori/server/selfcheck.h"
#include "mimamori/server/server.h"
#include "mimamori/server/store.h"

namespace mimamori::cli {
namespace {

struct SelfCheckArgs {
  std::string config_file, data_dir, store_url, evidence, lang = "ja";
  std::vector<std::string> sets;
  bool json = false;
};

[[noreturn]] void error_exit(const std::string& message) {
  std::fprintf(stderr, "mimamori admin self-check: %s\n", message.c_str());
  throw CLI::RuntimeError(2);
}

std::string utc_text(int64_t micros, const char* format) {
  std::time_t t = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

// The zip: each file with its name, mode 0644 and the check's time. Written to a temporary
// file beside `path` and renamed over it only when complete.
void write_pack(const std::filesystem::path& path,
                const std::vector<std::pair<std::string, std::string>>& files, int64_t at) {
  namespace fs = std::filesystem;
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    error_exit("--evidence " + path.string() + ": folder " + dir.string() + " does not exist");
  }
  if (fs::is_directory(path, ec)) {
    error_exit("--evidence " + path.string() + " is a folder: name the zip file to write");
  }
  const fs::path tmp =
      dir / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()));
  struct archive* a = archive_write_new();
  auto fail = [&](const std::string& what) {
    const std::string why = archive_error_string(a) ? archive_error_string(a) : "unknown error";
    archive_write_free(a);
    fs::remove(tmp, ec);
    error_exit("--evidence " + path.string() + ": " + what + ": " + why);
  };
  if (archive_write_set_format_zip(a) != ARCHIVE_OK) fail("zip format");
  if (archive_write_open_filename(a, tmp.c_str()) != ARCHIVE_OK) fail("cannot create the file");
  for (const auto& [name, data] : files) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, static_cast<time_t>(at / 1000000), 0);
    const bool ok =
        archive_write_header(a, e) == ARCHIVE_OK &&
        archive_write_data(a, data.data(), data.size()) == static_cast<la_ssize_t>(data.size());
    archive_entry_free(e);
    if (!ok) fail("cannot write " + name);
  }
  if (archive_write_close(a) != ARCHIVE_OK) fail("cannot finish the zip");
  archive_write_free(a);
  if (FILE* f = std::fopen(tmp.c_str(), "rb")) {  // on disk before the rename
    ::fsync(::fileno(f));
    std::fclose(f);
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    error_exit("--evidence " + path.string() + ": cannot rename the finished zip into place");
  }
}

std::string readme(const server::SelfCheck& s, const std::string& json, const std::string& pdf) {
  int met = 0;
  for (const auto& i : s.items) met += i.status == "met" ? 1 : 0;
  std::string r;
  r += "登録要件の自己点検 / Registration self-check — evidence pack\r\n";
  r += "generated " + utc_text(s.generated_at, "%Y-%m-%dT%H:%M:%SZ") + " by mimamori admin " +
       "self-check; requirements met: " + std::to_string(met) + " / " +
       std::to_string(s.items.size()) + "\r\n\r\n";
  r += "Files / 内容:\r\n";
  r += "  self-check.json  the ten requirements with status and evidence (ja, en), as served by\r\n"
       "                   GET /api/v1/admin/self-check; SHA-256 " +
       core::sha256_hex(json) + "\r\n";
  r += "  self-check.pdf   the same as an A4 summary in Japanese; SHA-256 " +
       core::sha256_hex(pdf) + "\r\n";
  r += "  README.txt       this file\r\n\r\n";
  for (const auto& i : s.items) {
    r += "  " + std::string(i.status == "met" ? "[OK] " : "[--] ") + std::to_string(i.number) +
         ". " + i.title_ja + " / " + i.title_en + ": " + i.status + "\r\n";
  }
  r += "\r\nA requirement is met only on evidence in the service's store and configuration;\r\n"
       "what it cannot show is to be shown in writing.\r\n";
  return r;
}

}  // namespace

void add_admin_selfcheck_command(CLI::App& admin) {
  auto a = std::make_shared<SelfCheckArgs>();
  auto* cmd = admin.add_subcommand(
      "self-check",
      "the ten registration requirements with ✔/✘ and evidence; exit 0 all met, 1 not, 2 error");
  cmd->add_option("-c,--config", a->config_file, "the server's YAML configuration");
  cmd->add_option("--data-dir", a->data_dir, "the server's data directory (SQLite)");
  cmd->add_option("--store", a->store_url, "store URL: sqlite:DIR or postgresql://…");
  cmd->add_option("--set", a->sets, "override a configuration key: key=value")->take_all();
  cmd->add_flag("--json", a->json, "print the JSON of GET /api/v1/admin/self-check");
  cmd->add_option("--evidence", a->evidence,
                  "also write a zip: self-check.json, self-check.pdf, README.txt");
  cmd->add_option("--lang", a->lang, "ja (default) or en")->check(CLI::IsMember({"ja", "en"}));
  cmd->callback([a] {
    server::ServerOptions options;
    try {
      auto config = a->config_file.empty() ? core::Config::from_string("{}", "<defaults>")
                                           : core::Config::load_file(a->config_file);
      for (const auto& s : a->sets) config.set(s);
      if (!a->data_dir.empty()) config.set("server.data_dir=" + a->data_dir);
      if (!a->store_url.empty()) config.set("store.url=" + a->store_url);
      options = server::load_server_options(config);
    } catch (const std::exception& e) {
      error_exit(e.what());
    }
    auto store = server::open_store(options.store);
    if (!store.ok()) error_exit("cannot open the store: " + store.error().message);
    const int64_t now = core::now().micros;
    auto s = server::registration_self_check(
        **store, server::Principal::system("mimamori admin self-check"), options, now);
    if (!s.ok()) error_exit(s.error().message);
    const std::string json = server::self_check_json(*s);
    const bool en = a->lang == "en";
    int met = 0;
    for (const auto& i : s->items) met += i.status == "met" ? 1 : 0;
    if (!a->evidence.empty()) {
      const std::string pdf = server::self_check_pdf(*s, a->lang);
      write_pack(a->evidence,
                 {{"self-check.json", json + "\n"},
                  {"self-check.pdf", pdf},
                  {"README.txt", readme(*s, json, pdf)}},
                 now);
    }
    if (a->json) {
      std::printf("%s\n", json.c_str());
    } else {
      std::printf(en ? "Registration self-check (%s UTC): %d of %zu met\n"
                     : "登録要件の自己点検 (%s UTC): %d / %zu 件を満たしています\n",
                  utc_text(s->generated_at, "%Y-%m-%d %H:%M").c_str(), met, s->items.size());
      for (const auto& i : s->items) {
        std::printf("%s %d. %s\n", i.status == "met" ? "✔" : "✘", i.number,
                    (en ? i.title_en : i.title_ja).c_str());
        for (const auto& e : i.evidence) std::printf("    - %s\n", (en ? e.en : e.ja).c_str());
        if (!i.action.ja.empty()) {
          std::printf("    → %s\n", (en ? i.action.en : i.action.ja).c_str());
        }
      }
      if (!a->evidence.empty()) {
        std::printf(en ? "evidence pack written to %s\n" : "根拠資料を %s に書き出しました\n",
                    a->evidence.c_str());
      }
    }
    std::fflush(stdout);
    if (met != static_cast<int>(s->items.size())) throw CLI::RuntimeError(1);
  });
}

void add_admin_catalogue_command(CLI::App& admin) {
  auto a = std::make_shared<SelfCheckArgs>();
  auto* cmd = admin.add_subcommand(
      "catalogue", "the registered plans and IPA's list of registered services to compare with");
  cmd->add_option("-c,--config", a->config_file, "the server's YAML configuration");
  cmd->add_option("--data-dir", a->data_dir, "the server's data directory (SQLite)");
  cmd->add_option("--store", a->store_url, "store URL: sqlite:DIR or postgresql://…");
  cmd->add_option("--set", a->sets, "override a configuration key: key=value")->take_all();
  cmd->add_flag("--json", a->json, "print the JSON of GET /api/v1/catalogue");
  cmd->callback([a] {
    const std::string what = "catalogue";
    server::ServerOptions options;
    try {
      auto config = a->config_file.empty() ? core::Config::from_string("{}", "<defaults>")
                                           : core::Config::load_file(a->config_file);
      for (const auto& s : a->sets) config.set(s);
      if (!a->data_dir.empty()) config.set("server.data_dir=" + a->data_dir);
      if (!a->store_url.empty()) config.set("store.url=" + a->store_url);
      options = server::load_server_options(config);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mimamori admin catalogue: %s\n", e.what());
      throw CLI::RuntimeError(2);
    }
    for (const auto& p : options.registered_service_problems) {
      std::fprintf(stderr, "mimamori admin catalogue: warning: %s\n", p.c_str());
    }
    auto store = server::open_store(options.store);
    if (!store.ok()) {
      std::fprintf(stderr, "mimamori admin catalogue: cannot open the store: %s\n",
                   store.error().message.c_str());
      throw CLI::RuntimeError(2);
    }
    auto rows = server::service_catalogue(
        **store, server::Principal::system("mimamori admin catalogue"), options);
    if (!rows.ok()) {
      std::fprintf(stderr, "mimamori admin catalogue: %s\n", rows.error().message.c_str());
      throw CLI::RuntimeError(2);
    }
    if (a->json) {
      std::printf("%s\n", server::catalogue_json(*rows, options.registered_services).c_str());
      return;
    }
    std::printf("登録済みプラン (このサービス): %zu\n", rows->size());
    for (const auto& r : *rows) {
      std::printf("  %s\t%s\t%s\t月額 %lld 円 + 1台 %lld 円\t%s\n", r.service_name.c_str(),
                  r.type_ja.c_str(), r.service_class.c_str(), static_cast<long long>(r.monthly_fee),
                  static_cast<long long>(r.per_device_fee),
                  r.compliant ? "✔ 価格基準" : "✘ 価格基準");
    }
    std::printf("IPA 登録サービス一覧: %zu\n", options.registered_services.size());
    for (const auto& s : options.registered_services) {
      std::printf("  %s\t%s\t%s\t%s%s\n", s.service.c_str(), s.provider.c_str(), s.region.c_str(),
                  s.type.c_str(), s.source == "provider" ? "\t(追加)" : "");
    }
  });
}

void add_admin_report_mail_command(CLI::App& admin) {
  struct Args : SelfCheckArgs {
    std::string month, customer;
    bool dry_run = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = admin.add_subcommand(
      "report-mail",
      "mail a month's reports now, as the scheduler does on the 1st (once per customer-month)");
  cmd->add_option("-c,--config", a->config_file, "the server's YAML configuration");
  cmd->add_option("--data-dir", a->data_dir, "the server's data directory (SQLite)");
  cmd->add_option("--store", a->store_url, "store URL: sqlite:DIR or postgresql://…");
  cmd->add_option("--set", a->sets, "override a configuration key: key=value")->take_all();
  cmd->add_option("--month", a->month, "the month, YYYY-MM (JST; ended)")->required();
  cmd->add_option("--customer", a->customer, "only this customer (id)");
  cmd->add_flag("--dry-run", a->dry_run, "list what would be mailed; queue nothing");
  cmd->callback([a] {
    server::ServerOptions options;
    try {
      auto config = a->config_file.empty() ? core::Config::from_string("{}", "<defaults>")
                                           : core::Config::load_file(a->config_file);
      for (const auto& s : a->sets) config.set(s);
      if (!a->data_dir.empty()) config.set("server.data_dir=" + a->data_dir);
      if (!a->store_url.empty()) config.set("store.url=" + a->store_url);
      options = server::load_server_options(config);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mimamori admin report-mail: %s\n", e.what());
      throw CLI::RuntimeError(2);
    }
    auto store = server::open_store(options.store);
    if (!store.ok()) {
      std::fprintf(stderr, "mimamori admin report-mail: cannot open the store: %s\n",
                   store.error().message.c_str());
      throw CLI::RuntimeError(2);
    }
    auto r = server::mail_reports_of_month(**store, a->month, a->customer, a->dry_run,
                                           core::now().micros);
    if (!r.ok()) {
      std::fprintf(stderr, "mimamori admin report-mail: %s\n", r.error().message.c_str());
      throw CLI::RuntimeError(2);
    }
    int queued = 0;
    for (const auto& m : *r) {
      std::string what;
      if (!m.report_mail) {
        what = "skipped: report mail turned off";
      } else if (m.already) {
        what = "skipped: mailed for " + a->month + " already";
      } else if (m.contacts == 0) {
        what = a->dry_run ? "would be marked done: no e-mail contact" : "no e-mail contact";
      } else if (a->dry_run) {
        what = "would mail " + std::to_string(m.contacts) + " contact(s)";
      } else {
        what = "queued to " + std::to_string(m.contacts) + " contact(s)";
        ++queued;
      }
      std::printf("%s\t%s\t%s\n", m.customer_id.c_str(), m.customer_name.c_str(), what.c_str());
    }
    if (a->dry_run) {
      std::printf("dry run: nothing queued for %s\n", a->month.c_str());
    } else {
      std::printf("%d customer report(s) of %s queued; the running server delivers them\n", queued,
                  a->month.c_str());
    }
  });
}

}  // namespace mimamori::cli
