#pragma once
// Private to behaviour/: the detectors the umbrella Detector (behaviour.cc) runs. Each is a
// plain class called only for the packets it needs; each keeps its state in capped tables.

#include <memory>
#include <string>

#include "behaviour/common.h"

namespace mimamori::net::behaviour {

// Vertical and horizontal port scans, UDP and ICMP sweeps; inbound and internal/outbound.
class ScanDetector {
 public:
  explicit ScanDetector(Shared& s);
  ~ScanDetector();
  void on_new_flow(const Packet& p, DetectContext& ctx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Password guessing: short sessions of one shape, protocol-visible failures, and a login that
// succeeds after them.
class GuessDetector {
 public:
  explicit GuessDetector(Shared& s);
  ~GuessDetector();
  bool auth_port(uint16_t port) const;
  // A packet of a flow to an authentication port (marks.guess_port).
  void on_packet(const Packet& p, FlowMarks& m, DetectContext& ctx);
  // Server replies of such a flow (FTP, SMTP, POP, IMAP, Telnet, SMB2).
  void on_reply(const StreamChunk& c, FlowMarks& m, DetectContext& ctx);
  // An HTTP response's status (401s are failed logins).
  void on_http_status(std::string_view status, DetectContext& ctx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A management or file-sharing service accepting connections from the internet.
class ExposedDetector {
 public:
  explicit ExposedDetector(Shared& s);
  ~ExposedDetector();
  bool watched(uint16_t port) const;
  void on_packet(const Packet& p, FlowMarks& m, DetectContext& ctx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Periodic connections from an internal host to one external destination.
class BeaconDetector {
 public:
  explicit BeaconDetector(Shared& s);
  ~BeaconDetector();
  void on_new_flow(const Packet& p, DetectContext& ctx);
  // The name the client asked for on this flow (TLS SNI, HTTP Host).
  void on_name(const Flow& f, std::string_view name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// DNS tunnels (many long random names under one domain) and DGA-looking domains.
class DnsDetector {
 public:
  explicit DnsDetector(Shared& s);
  ~DnsDetector();
  void on_query(const Packet& p, std::string_view name, DetectContext& ctx);
  // A response (its question name); UDP responses only.
  void on_answer(const Packet& p, std::string_view name, DetectContext& ctx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One internal host reaching many internal hosts on admin ports; admin shares and svcctl.
class LateralDetector {
 public:
  explicit LateralDetector(Shared& s);
  ~LateralDetector();
  void on_new_flow(const Packet& p, DetectContext& ctx);
  void on_smb_request(const StreamChunk& c, FlowMarks& m, DetectContext& ctx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// HTTP response bodies and files on FTP data connections hashed (SHA-256, MD5), `fileinfo`
// records, known-bad hash alerts.
class FileDetector {
 public:
  explicit FileDetector(Shared& s);
  ~FileDetector();
  void on_response_body(const Packet& p, const AppEvent& ev, DetectContext& ctx);
  // Either direction of an FTP control connection (marks.ftp_control): the data connections it
  // announces and the files they carry.
  void on_ftp_control(const StreamChunk& c, FlowMarks& m, DetectContext& ctx);
  // A new TCP flow: its file's state when an FTP control connection announced it, else null.
  std::unique_ptr<FtpData, FtpDataDeleter> ftp_data(const Flow& f, int64_t now);
  // Bytes of an FTP data connection (marks.ftp_data).
  void on_ftp_data(const StreamChunk& c, FlowMarks& m, DetectContext& ctx);
  // A packet of an FTP data connection: a FIN or RST ends its file.
  void on_ftp_packet(const Packet& p, FlowMarks& m, DetectContext& ctx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Threat intelligence: connections with listed addresses, lookups of and connections to
// listed domains, TLS clients with listed fingerprints.
class IntelDetector {
 public:
  enum Where : uint8_t { kLookup, kTls, kHttp };
  explicit IntelDetector(Shared& s);
  ~IntelDetector();
  void on_new_flow(const Packet& p, DetectContext& ctx);
  void on_name(std::string_view name, Where where, DetectContext& ctx);
  // A TLS client hello's JA3 hash and JA4 fingerprint (either may be empty).
  void on_fingerprint(std::string_view ja3, std::string_view ja4, DetectContext& ctx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Passwords sent in cleartext: FTP/POP3 USER+PASS, IMAP LOGIN, SMTP AUTH before STARTTLS, HTTP
// Basic, Telnet logins.
class CleartextDetector {
 public:
  explicit CleartextDetector(Shared& s);
  ~CleartextDetector();
  static bool login_port(uint16_t port);
  // Client bytes of a connection to a login port (marks.cleartext_port).
  void on_request(const StreamChunk& c, FlowMarks& m, DetectContext& ctx);
  // Either direction of a Telnet connection (port 23).
  void on_telnet(const StreamChunk& c, FlowMarks& m, DetectContext& ctx);
  // A plain-HTTP request's headers; true when it raised (the caller marks the flow done).
  bool on_http_request(DetectContext& ctx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Large uploads from an internal host to an external destination it had not talked to during
// the learning period.
class UploadDetector {
 public:
  explicit UploadDetector(Shared& s);
  ~UploadDetector();
  // A flow's first packet: its destination is remembered (learning) when it goes from
  // HOME_NET to the internet.
  void on_new_flow(const Packet& p, Flow& f);
  // Whether a flow goes from HOME_NET to the internet (its bytes are then counted).
  bool outbound(const Flow& f) const;
  // The name the client asked for on this flow (TLS SNI, HTTP Host).
  void on_name(const Flow& f, std::string_view name, int64_t now);
  // More to-server bytes of such a flow.
  void on_bytes(const Flow& f, uint64_t bytes, int64_t now, DetectContext& ctx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mimamori::net::behaviour
