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

TEST(Catalogue, ClassifiesBySignatureAndExplainsInJapanese) {
  const auto& cat = Catalogue::get();
  EXPECT_EQ(cat.classify("ET MALWARE Cobalt Strike Beacon", "").name, "c2");
  EXPECT_EQ(cat.classify("ET SCAN Nmap Scripting Engine", "Attempted Information Leak").name,
            "scan");
  EXPECT_EQ(cat.classify("Mimikatz lsass access", "").name, "credential_theft");
  EXPECT_EQ(cat.classify("mass rename to .locked", "ransomware").name, "ransomware");
  EXPECT_EQ(cat.classify("something odd", "Misc activity").name, "other");
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
