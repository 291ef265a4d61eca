// `mimamori admin self-check`: the ten registration requirements as the server's API shows
// them, read from the same store and configuration, with ✔/✘ and the evidence; `--evidence`
// writes a zip (self-check.json, a PDF summary, README.txt) for the registration body.
// Exit codes: 0 every requirement met, 1 one or more not, 2 an error (nothing half-written).

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>

#include "admin_server_config.h"
#include "commands.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/hash.h"
#include "mimamori/server/report_mail.h"
#include "mimamori/server/selfcheck.h"
#include "mimamori/server/server.h"
#include "mimamori/server/store.h"

namespace mimamori::cli {
namespace {

struct SelfCheckArgs : ServerConfigArgs {
  std::string evidence, lang = "ja";
  bool json = false;
};

[[noreturn]] void error_exit(const std::string& message) { admin_error("self-check", message); }

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
  add_server_config_options(cmd, *a);
  cmd->add_flag("--json", a->json, "print the JSON of GET /api/v1/admin/self-check");
  cmd->add_option("--evidence", a->evidence,
                  "also write a zip: self-check.json, self-check.pdf, README.txt");
  cmd->add_option("--lang", a->lang, "ja (default) or en")->check(CLI::IsMember({"ja", "en"}));
  cmd->callback([a] {
    const server::ServerOptions options = load_server_config(*a, "self-check");
    auto store = open_server_store(options, "self-check");
    const int64_t now = core::now().micros;
    auto s = server::registration_self_check(
        *store, server::Principal::system("mimamori admin self-check"), options, now);
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

}  // namespace mimamori::cli
