#include "secrets.h"

#include <gtest/gtest.h>

#include "triage/triage.h"

namespace mimamori::server {
namespace {

TEST(Secrets, PasswordsHashWithArgon2idAndVerify) {
  auto h = hash_password("correct horse battery");
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->starts_with("$argon2id$")) << *h;
  EXPECT_TRUE(verify_password(*h, "correct horse battery"));
  EXPECT_FALSE(verify_password(*h, "correct horse battery "));
}

TEST(Secrets, TotpMatchesRfc6238Vectors) {
  // RFC 6238 appendix B, SHA-1 secret "12345678901234567890" in base32; 8-digit codes there,
  // whose last six digits are ours.
  const std::string secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
  EXPECT_EQ(totp_code(secret, 59), "287082");
  EXPECT_EQ(totp_code(secret, 1111111109), "081804");
  EXPECT_EQ(totp_code(secret, 1234567890), "005924");
  EXPECT_TRUE(totp_verify(secret, "005924", 1234567890 + 30));
  EXPECT_FALSE(totp_verify(secret, "005924", 1234567890 + 90));
}

TEST(Secrets, EnrollmentCodesAreCrockfordAndForgiving) {
  auto c = random_enrollment_code();
  ASSERT_EQ(c.size(), 9u);
  EXPECT_EQ(c[4], '-');
  EXPECT_EQ(normalize_enrollment_code("k7qm-4xpd"), "K7QM4XPD");
  EXPECT_EQ(normalize_enrollment_code("O0Il L1"), "001111");
  EXPECT_NE(random_enrollment_code(), random_enrollment_code());
}

TEST(SecretBox, SealsUnderTheNewestKeyAndOpensUnderAnyKeyItHolds) {
  const std::string a(32, 'a'), b(32, 'b');
  SecretBox box_a({a});
  auto s1 = box_a.seal("hook secret");
  auto s2 = box_a.seal("hook secret");
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_TRUE(s1->starts_with("sb1:" + box_a.key_id() + ":")) << *s1;
  EXPECT_EQ(box_a.key_id().size(), 8u);
  EXPECT_NE(*s1, *s2) << "a fresh nonce each time";
  EXPECT_EQ(s1->find("hook secret"), std::string::npos);
  EXPECT_EQ(box_a.open(*s1, "channels.secret of chn_1").value_or("?"), "hook secret");
  EXPECT_EQ(SecretBox::key_id_of(*s1), box_a.key_id());
  // During a rotation: sealed under b, a still opens.
  SecretBox rotating({b, a});
  EXPECT_EQ(rotating.open(*s1, "x").value_or("?"), "hook secret");
  EXPECT_TRUE(rotating.seal("y")->starts_with("sb1:" + rotating.key_id() + ":"));
  EXPECT_NE(rotating.key_id(), box_a.key_id());
  // Empty stays empty: no secret is no secret.
  EXPECT_EQ(box_a.seal("").value_or("?"), "");
  EXPECT_EQ(box_a.open("", "x").value_or("?"), "");
}

TEST(SecretBox, AValueThatDoesNotOpenIsAnErrorNamingTheRow) {
  const std::string a(32, 'a'), b(32, 'b');
  SecretBox box_a({a}), box_b({b});
  auto sealed = box_a.seal("hook secret");
  ASSERT_TRUE(sealed.ok());
  auto other = box_b.open(*sealed, "channels.secret of chn_1");
  ASSERT_FALSE(other.ok());
  EXPECT_TRUE(other.error().message.starts_with(
      fmt::format("channels.secret of chn_1: sealed under key {}, which the secret key file does "
                  "not hold",
                  box_a.key_id())))
      << other.error().message;
  EXPECT_NE(other.error().message.find("(it holds " + box_b.key_id() + ")"), std::string::npos)
      << other.error().message;
  // One character of the ciphertext changed.
  std::string altered = *sealed;
  altered[20] = altered[20] == 'A' ? 'B' : 'A';
  auto bad = box_a.open(altered, "users.totp_secret of usr_1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            fmt::format("users.totp_secret of usr_1: does not open under key {} (altered in the "
                        "database?)",
                        box_a.key_id()));
  for (std::string_view v :
       {"sb1:", "sb1:0011aabb", "sb1:x:!!!!", "sb1:x:QUJD", "sb1:0011aabb:", "sb1:0011aabb:QUJD"}) {
    auto r = box_a.open(v, "outbox.secret of msg_1");
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_TRUE(r.error().message.starts_with("outbox.secret of msg_1: ")) << r.error().message;
  }
  // Plain text from before sealing reads as it is (the store seals it at its next start).
  EXPECT_EQ(box_a.open("https://hooks.example/x", "x").value_or("?"), "https://hooks.example/x");
  // A store without a key file stores no secret rather than storing it in plain text.
  SecretBox none;
  EXPECT_FALSE(none.seal("x").ok());
  EXPECT_FALSE(none.open(*sealed, "x").ok());
}

TEST(SecretBox, OnlyUrlTargetsAreSecret) {
  SecretBox box({std::string(32, 'k')});
  EXPECT_TRUE(SecretBox::is_sealed(*box.seal_target("slack", "https://hooks.slack.com/x")));
  EXPECT_TRUE(SecretBox::is_sealed(*box.seal_target("teams", "https://x.logic.azure.com/y")));
  EXPECT_TRUE(SecretBox::is_sealed(*box.seal_target("webhook", "https://soc.example.jp/h")));
  EXPECT_EQ(box.seal_target("email", "owner@a.example.jp").value_or("?"), "owner@a.example.jp");
  EXPECT_EQ(box.seal_target("line", "U0123").value_or("?"), "U0123");
  EXPECT_EQ(box.open_target("email", "owner@a.example.jp", "x").value_or("?"),
            "owner@a.example.jp");
}

TEST(Catalogue, ClassifiesBySignatureAndExplainsInJapanese) {
  const auto& cat = Catalogue::get();
  EXPECT_EQ(cat.classify("ET MALWARE Cobalt Strike Beacon", "").name, "c2");
  EXPECT_EQ(cat.classify("ET SCAN Nmap Scripting Engine", "Attempted Information Leak").name,
            "scan");
  EXPECT_EQ(cat.classify("Mimikatz lsass access", "").name, "credential_theft");
  EXPECT_EQ(cat.classify("mass rename to .locked", "ransomware").name, "ransomware");
  EXPECT_EQ(cat.classify("something odd", "Misc activity").name, "other");
  // The sensor's behaviour detectors, each with its own entry.
  EXPECT_EQ(cat.classify("MIMAMORI SCAN from the internet: vertical port scan of one host",
                         "Detection of a Network Scan")
                .name,
            "scan");
  EXPECT_EQ(cat.classify("MIMAMORI SCAN from an internal host: ICMP ping sweep", "").name,
            "internal_scan");
  EXPECT_EQ(cat.classify("MIMAMORI password guessing on SSH: many short sessions of one shape",
                         "Attempted User Privilege Gain")
                .name,
            "password_guessing");
  EXPECT_EQ(cat.classify("MIMAMORI login succeeded after password guessing on FTP (x)", "").name,
            "login_after_guessing");
  EXPECT_EQ(cat.classify("MIMAMORI exposed service: RDP of an internal host accepts connections "
                         "from the internet",
                         "")
                .name,
            "exposed_service");
  EXPECT_EQ(cat.classify("MIMAMORI beaconing: periodic connections to an external host on HTTPS",
                         "A Network Trojan was detected")
                .name,
            "beaconing");
  EXPECT_EQ(cat.classify("MIMAMORI DNS tunnel: many long random names under one domain", "").name,
            "dns_tunnel");
  EXPECT_EQ(
      cat.classify("MIMAMORI DGA: many machine-generated domain names looked up by one host", "")
          .name,
      "dns_tunnel");
  EXPECT_EQ(
      cat.classify("MIMAMORI lateral movement: administrative share ADMIN$ opened over SMB", "")
          .name,
      "lateral_movement");
  EXPECT_EQ(cat.classify("MIMAMORI known-bad file downloaded over HTTP: EICAR test file",
                         "A Network Trojan was detected")
                .name,
            "known_bad_file");
  EXPECT_EQ(cat.classify("MIMAMORI threat intelligence: lookup of a listed domain", "").name,
            "threat_intel");
  // "c2" must not match inside another word.
  EXPECT_NE(cat.classify("ET INFO ABC2D thing", "").name, "c2");
  for (const auto& c : cat.categories()) {
    EXPECT_FALSE(c.what.empty()) << c.name;
    EXPECT_FALSE(c.danger.empty()) << c.name;
    EXPECT_FALSE(c.action.empty()) << c.name;
  }
  EXPECT_EQ(cat.find("monitoring_stopped").severity, "critical");
  EXPECT_EQ(alert_severity(cat.find("scan"), 1), "high");
  EXPECT_EQ(alert_severity(cat.find("scan"), 3), "low");
  EXPECT_EQ(alert_severity(cat.find("c2"), 3), "critical");
}

}  // namespace
}  // namespace mimamori::server
