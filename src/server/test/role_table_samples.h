#pragma once
// What the role table test sends: its requests, the tenants they name, and the bodies of the
// routes that create or change things.

#include <cstdint>
#include <string>
#include <vector>

namespace mimamori::server::testing {

namespace role_table {
/// A request to make.
struct Req {
  std::string method, path, body;
  std::vector<std::string> headers = {};
  /// False when the request names no customer's object (the same for every caller).
  bool bound = true;
  /// Made in a session of its own, since it ends or changes the caller's session.
  bool own_session = false;
};

/// A customer of the test with its site, device (and its token) and one user.
struct Tenant {
  std::string customer, site, device, token, user;
  int64_t seq = 1;
};
}  // namespace role_table

/// A compliant 1類 plan, saved as registered.
constexpr const char* kSamplePlan =
    R"({"name":"ライト","type":"network","monthly_fee":9800,"desk_hours":"平日","dispatch":"24時間以内",)"
    R"("insurance_coverage":1000000,"status":"registered","terms":{"initial_fee":"無料",)"
    R"("term":"1年","cancellation_penalty":"なし","right_to_cancel":"いつでも"}})";

/// A public canned answer.
constexpr const char* kSampleFaq =
    R"({"question":"申込方法は？","answer":"申込書をお送りください。","category":"申込方法",)"
    R"("public":true,"tags":["申込"]})";
/// A policy of the 簡易サイバー保険 and one cost line of a claim.
constexpr const char* kSamplePolicy =
    R"({"insurer":"みまもり損保","policy_number":"CY-0001","start_date":"2026-04-01",)"
    R"("end_date":"2027-03-31","items":[{"item":"initial_response","limit":300000,)"
    R"("deductible":50000}],"customer_text":"免責金額はお客様のご負担です。"})";
constexpr const char* kSampleLine =
    R"({"description":"駆け付け","item":"initial_response","amount":80000,)"
    R"("incurred_on":"2026-11-27"})";

/// The role table's technician: serves Tokyo around the clock.
constexpr const char* kTechnicianProfile =
    R"({"skills":["PC"],"prefectures":["東京都"],"availability":["all 00:00-24:00"]})";

}  // namespace mimamori::server::testing
