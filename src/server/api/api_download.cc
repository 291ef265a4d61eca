// Device packages: the signed apt repository, the agent's .rpm and the repository key under
// /download/ (public: what they carry is signed, and the key is pinned by its fingerprint), and
// the install command per platform for the console's enrollment screen. The repository folder
// is made and signed by mimamori-repo (packaging/mimamori-repo), never by the server.

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "api/json_body.h"
#include "mimamori/core/hash.h"

namespace mimamori::server {
namespace {

namespace fs = std::filesystem;

fs::path repo_dir(const ServerOptions& o) {
  return o.repo_dir.empty() ? fs::path(o.data_dir) / "repo" : fs::path(o.repo_dir);
}

// A file name of the repository: no folders, no hidden files, nothing a shell or a URL treats
// specially.
bool file_name_ok(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-' || ch == '+' || ch == '~';
  });
}

bool host_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']';
}

std::string_view content_type_of(std::string_view name) {
  if (name.ends_with(".deb")) return "application/vnd.debian.binary-package";
  if (name.ends_with(".rpm")) return "application/x-rpm";
  if (name.ends_with(".gz")) return "application/gzip";
  if (name.ends_with(".gpg")) return "application/pgp-keys";
  if (name.ends_with(".asc") || name == "InRelease") return "application/pgp-signature";
  return "text/plain; charset=utf-8";
}

std::string first_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// Package files in `dir` whose names start with `prefix`, newest name last.
std::vector<std::string> package_files(const fs::path& dir, std::string_view prefix,
                                       std::string_view suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.starts_with(prefix) && n.ends_with(suffix) && file_name_ok(n)) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The host of a base URL as apt names it in per-host options: no port, no brackets.
std::string apt_host(std::string_view base) {
  std::string_view h = base.substr(base.find("://") + 3);
  if (h.starts_with('[')) return std::string(h.substr(1, h.find(']') - 1));
  return std::string(h.substr(0, h.find(':')));
}

}  // namespace

bool public_url_ok(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return false;
  }
  return !rest.empty() && rest.size() <= 253 && std::all_of(rest.begin(), rest.end(), host_char);
}

void h_download(Call& call) {
  const std::string& file = call.param("file");
  std::string_view pattern = call.route->pattern;
  std::string sub = pattern.starts_with("/download/deb/")   ? "deb"
                    : pattern.starts_with("/download/rpm/") ? "rpm"
                                                            : "";
  if (!file_name_ok(file)) return call.error(404, "no such file in the device repository");
  if (sub.empty() && !file.starts_with("mimamori.")) {
    return call.error(404, "no such file in the device repository");
  }
  auto f = read_static_file(repo_dir(call.api->options()).string(),
                            sub.empty() ? "/" + file : "/" + sub + "/" + file);
  if (!f) return call.error(404, fmt::format("{} is not in the device repository", file));
  HttpResponse r;
  r.body = std::move(f->body);
  r.content_type = std::string(content_type_of(file));
  // The indexes change with each `mimamori-repo add`; the packages never do (versioned names).
  bool index = !file.ends_with(".deb") && !file.ends_with(".rpm");
  r.headers.emplace_back("Cache-Control", index ? "no-cache" : "max-age=86400");
  call.api->record(call, 200);
  call.respond(std::move(r));
}

void h_device_packages(Call& call) {
  const ServerOptions& o = call.api->options();
  const fs::path repo = repo_dir(o);
  std::string base = o.public_url;
  if (base.empty()) {
    std::string_view host = call.req.header("host");
    if (host.empty() || host.size() > 253 || !std::all_of(host.begin(), host.end(), host_char)) {
      return call.error(400,
                        "the Host header is missing or not a host[:port]; set server.public_url");
    }
    base = std::string(o.tls ? "https://" : "http://") + std::string(host);
  }
  while (base.ends_with('/')) base.pop_back();
  const std::string& cert_fp = call.api->fingerprint();
  std::string enroll_tail = " --server " + base + " --code {code}";
  if (!cert_fp.empty() && o.cert_file.empty()) enroll_tail += " --fingerprint " + cert_fp;

  json::object out;
  out["base_url"] = jstr(base);
  out["server_fingerprint"] = jstr(cert_fp);
  std::string key_fpr = first_line(repo / "mimamori.fpr");
  auto key_sha = core::sha256_file_hex(repo / "mimamori.gpg");
  json::array platforms;
  if (key_fpr.empty() || !key_sha.ok()) {
    out["repository"] = nullptr;
    out["hint"] = jstr(
        "no device repository yet: mimamori-repo init, then mimamori-repo add the .deb and .rpm "
        "files");
  } else {
    out["repository"] = json::object{{"fingerprint", jstr(key_fpr)},
                                     {"key_url", jstr(base + "/download/mimamori.gpg")},
                                     {"key_sha256", jstr(*key_sha)},
                                     {"apt_source", jstr("deb [signed-by=/usr/share/keyrings/"
                                                         "mimamori.gpg] " +
                                                         base + "/download deb/")}};
    // A self-signed certificate cannot be checked by apt or curl: the repository's signature
    // (key pinned by its SHA-256) and the packages' hashes carry the trust instead.
    const bool self_signed = o.tls && o.cert_file.empty();
    // apt reads Acquire::https::<host>::Verify-Peer by the host name alone, without the port.
    std::string host = apt_host(base);
    std::string apt_opt = self_signed ? "-o Acquire::https::Verify-Peer=false " : "";
    for (std::string_view pkg : {"mimamori-agent", "mimamori-sensor"}) {
      auto files = package_files(repo / "deb", std::string(pkg) + "_", ".deb");
      if (files.empty()) continue;
      std::string cmd =
          "sudo sh -c '/usr/lib/apt/apt-helper " + apt_opt + "download-file " + base +
          "/download/mimamori.gpg /usr/share/keyrings/mimamori.gpg SHA256:" + *key_sha +
          " && echo \"deb [signed-by=/usr/share/keyrings/mimamori.gpg] " + base +
          "/download deb/\" > /etc/apt/sources.list.d/mimamori.list" +
          (self_signed ? " && echo \"Acquire::https::" + host +
                             "::Verify-Peer \\\"false\\\";\" > /etc/apt/apt.conf.d/60mimamori"
                       : std::string()) +
          " && apt-get update && apt-get install -y " + std::string(pkg) + "' && sudo " +
          std::string(pkg) + " enroll" + enroll_tail;
      json::array names;
      for (const auto& f : files) names.push_back(jstr(f));
      platforms.push_back(json::object{{"platform", "debian"},
                                       {"package", jstr(pkg)},
                                       {"files", std::move(names)},
                                       {"command", jstr(cmd)}});
    }
    auto rpms = package_files(repo / "rpm", "mimamori-agent-", ".rpm");
    if (!rpms.empty()) {
      const std::string& newest = rpms.back();
      auto sha = core::sha256_file_hex(repo / "rpm" / newest);
      if (sha.ok()) {
        std::string cmd = "curl -fsS" + std::string(self_signed ? "k" : "") + " -o /tmp/" + newest +
                          " " + base + "/download/rpm/" + newest + " && echo '" + *sha + "  /tmp/" +
                          newest + "' | sha256sum -c - && sudo rpm -Uvh /tmp/" + newest +
                          " && sudo mimamori-agent enroll" + enroll_tail;
        platforms.push_back(json::object{{"platform", "rhel"},
                                         {"package", "mimamori-agent"},
                                         {"files", json::array{jstr(newest)}},
                                         {"command", jstr(cmd)}});
      }
    }
  }
  out["platforms"] = std::move(platforms);
  call.json(200, to_text(out));
}

}  // namespace mimamori::server
