// `mimamori admin import-eve`: sends EVE JSON files to a running mimamori-server through the
// device API, as a sensor would: it enrolls with a code (checking the server's certificate
// fingerprint first) and posts the records in gzip batches with sequence ranges, retrying a
// batch until the server acknowledges it. For set-ups where the sensor cannot upload itself.

#include <curl/curl.h>
#include <zlib.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "commands.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/hash.h"

namespace mimamori::cli {
namespace {

struct Reply {
  long status = 0;
  std::string body, error, fingerprint;
};

size_t collect(char* p, size_t s, size_t n, void* u) {
  static_cast<std::string*>(u)->append(p, s * n);
  return s * n;
}

std::string gzip(const std::string& s) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, s.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  zs.avail_in = static_cast<uInt>(s.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// SHA-256 of the leaf certificate's DER, from curl's PEM certificate info.
std::string leaf_fingerprint(CURL* c) {
  curl_certinfo* ci = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1) {
    return {};
  }
  for (curl_slist* s = ci->certinfo[0]; s; s = s->next) {
    std::string_view line(s->data);
    if (!line.starts_with("Cert:")) continue;
    std::string b64;
    for (char ch : line.substr(5)) {
      if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '+' || ch == '/' || ch == '=') {
        b64 += ch;
      }
    }
    auto begin = b64.find("BEGINCERTIFICATE"), end = b64.find("ENDCERTIFICATE");
    if (begin == std::string::npos || end == std::string::npos) return {};
    b64 = b64.substr(begin + 16, end - begin - 16);
    std::string der;
    int val = 0, bits = 0;
    for (char ch : b64) {
      if (ch == '=') break;
      const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      val = (val << 6) | static_cast<int>(std::strchr(tbl, ch) - tbl);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        der += static_cast<char>((val >> bits) & 0xFF);
      }
    }
    return core::sha256_hex(der);
  }
  return {};
}

Reply request(CURL* c, const std::string& url, const std::string& body,
              const std::vector<std::string>& headers, bool want_cert) {
  Reply r;
  curl_slist* h = nullptr;
  for (const auto& x : headers) h = curl_slist_append(h, x.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  if (body.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  // Trust comes from the pinned fingerprint, not from a CA: the server's certificate is
  // usually self-signed.
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(c, CURLOPT_CERTINFO, want_cert ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(h);
  if (rc != CURLE_OK) {
    r.error = curl_easy_strerror(rc);
    return r;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  if (want_cert) r.fingerprint = leaf_fingerprint(c);
  return r;
}

std::string json_member(const std::string& body, const std::string& key) {
  auto at = body.find("\"" + key + "\":\"");
  if (at == std::string::npos) return {};
  at += key.size() + 4;
  return body.substr(at, body.find('"', at) - at);
}

int import_eve(const std::string& server, const std::string& code, const std::string& fingerprint,
               const std::string& hostname, const std::vector<std::string>& files, int batch) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* c = curl_easy_init();
  auto health = request(c, server + "/api/v1/health", "", {}, server.starts_with("https://"));
  if (!health.error.empty() || health.status != 200) {
    std::fprintf(stderr, "mimamori admin import-eve: %s is not answering: %s\n", server.c_str(),
                 health.error.empty() ? health.body.c_str() : health.error.c_str());
    return 1;
  }
  if (!fingerprint.empty() && health.fingerprint != fingerprint) {
    std::fprintf(stderr,
                 "mimamori admin import-eve: certificate fingerprint %s is not the expected %s\n",
                 health.fingerprint.c_str(), fingerprint.c_str());
    return 1;
  }
  std::string body = "{\"code\":\"" + code + "\",\"hostname\":\"" + hostname +
                     "\",\"kind\":\"sensor\",\"version\":\"0.1.0\"}";
  auto e = request(c, server + "/api/v1/enroll", body, {"Content-Type: application/json"}, false);
  if (e.status != 201) {
    std::fprintf(stderr, "mimamori admin import-eve: enrollment failed (%ld): %s\n", e.status,
                 e.error.empty() ? e.body.c_str() : e.error.c_str());
    return 1;
  }
  std::string token = json_member(e.body, "device_token");
  std::printf("enrolled as %s\n", json_member(e.body, "device_id").c_str());
  int64_t seq = 1, sent = 0, rejected = 0;
  std::vector<std::string> lines;
  auto flush = [&]() -> bool {
    if (lines.empty()) return true;
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    std::string gz = gzip(text);
    int64_t last = seq + static_cast<int64_t>(lines.size()) - 1;
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto r =
          request(c, server + "/api/v1/ingest", gz,
                  {"Content-Type: application/x-ndjson", "Content-Encoding: gzip",
                   "Authorization: Bearer " + token, "X-Mimamori-Seq-First: " + std::to_string(seq),
                   "X-Mimamori-Seq-Last: " + std::to_string(last), "Expect:"},
                  false);
      if (r.status == 200 || r.status == 409) {
        for (size_t at = 0; (at = r.body.find("\"seq\":", at)) != std::string::npos; ++at) {
          ++rejected;
        }
        sent += static_cast<int64_t>(lines.size());
        seq = last + 1;
        lines.clear();
        return true;
      }
      if (r.status >= 400 && r.status < 500 && r.status != 429) {
        std::fprintf(stderr, "mimamori admin import-eve: batch %lld..%lld refused (%ld): %s\n",
                     static_cast<long long>(seq), static_cast<long long>(last), r.status,
                     r.body.c_str());
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200 << std::min(attempt, 5)));
    }
    std::fprintf(stderr, "mimamori admin import-eve: the server did not acknowledge\n");
    return false;
  };
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: cannot open\n", f.c_str());
      return 1;
    }
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      lines.push_back(std::move(line));
      if (static_cast<int>(lines.size()) >= batch && !flush()) return 1;
    }
  }
  if (!flush()) return 1;
  curl_easy_cleanup(c);
  std::printf("sent %lld events (%lld rejected by the server)\n", static_cast<long long>(sent),
              static_cast<long long>(rejected));
  return 0;
}

}  // namespace

void add_admin_import_command(CLI::App& admin) {
  auto* cmd = admin.add_subcommand(
      "import-eve", "send EVE JSON files to a running server through the device API");
  auto server = std::make_shared<std::string>();
  auto code = std::make_shared<std::string>();
  auto fp = std::make_shared<std::string>();
  auto host = std::make_shared<std::string>("imported-sensor");
  auto batch = std::make_shared<int>(500);
  auto files = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--server", *server, "server URL, https://host:port")->required();
  cmd->add_option("--code", *code, "enrollment code")->required();
  cmd->add_option("--fingerprint", *fp, "expected SHA-256 of the server certificate");
  cmd->add_option("--hostname", *host, "device name to enroll as");
  cmd->add_option("--batch", *batch, "events per batch")->check(CLI::Range(1, 100000));
  cmd->add_option("files", *files, "EVE JSON files")->required();
  cmd->callback(
      [=] { throw CLI::RuntimeError(import_eve(*server, *code, *fp, *host, *files, *batch)); });
}

}  // namespace mimamori::cli
