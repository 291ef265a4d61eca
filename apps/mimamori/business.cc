// `mimamori plan check` and `mimamori subsidy`: the price rules of a plan (要件 7) and the
// IT導入補助金 estimate, computed here without a server.

#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "mimamori/server/plan.h"
#include "mimamori/server/subsidy.h"

namespace mimamori::cli {
namespace {

// Exit codes: 0 compliant / computed, 1 a broken rule, 2 bad input.
[[noreturn]] void bad_input(std::string_view cmd, const std::string& message) {
  std::fprintf(stderr, "mimamori %.*s: %s\n", static_cast<int>(cmd.size()), cmd.data(),
               message.c_str());
  throw CLI::RuntimeError(2);
}

void add_plan_commands(CLI::App& app) {
  auto* plan = app.add_subcommand("plan", "plans of the service and their price rules");
  plan->require_subcommand(1);
  auto* check = plan->add_subcommand(
      "check", "check a plan file (YAML) against 要件 7; exit 1 names each broken rule");
  struct Args {
    std::string file, format = "text", initial_fee = "separate";
    bool caps_include_tax = false;
    int tax_rate = 10;
  };
  auto a = std::make_shared<Args>();
  check->add_option("plan", a->file, "plan.yaml (the members of docs/business.md)")->required();
  check->add_flag("--caps-include-tax", a->caps_include_tax,
                  "read the caps as amounts with 消費税 (default: without)");
  check->add_option("--tax-rate", a->tax_rate, "消費税 in percent (default 10)")
      ->check(CLI::Range(0, 100));
  check
      ->add_option("--initial-fee", a->initial_fee,
                   "separate: only disclosed (default); spread: spread over the minimum term and "
                   "counted in each month")
      ->check(CLI::IsMember({"separate", "spread"}));
  check->add_option("--format", a->format, "text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  check->callback([a] {
    std::ifstream in(a->file, std::ios::binary);
    if (!in) bad_input("plan check", a->file + ": cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    auto p = server::parse_plan_yaml(ss.str(), a->file);
    if (!p.ok()) bad_input("plan check", p.error().message);
    server::PricePolicy policy;
    policy.caps_include_tax = a->caps_include_tax;
    policy.tax_rate_percent = a->tax_rate;
    policy.spread_initial_fee = a->initial_fee == "spread";
    auto report = server::check_plan(*p, policy);
    if (a->format == "json") {
      std::printf("%s\n", server::compliance_to_json(report).c_str());
    } else {
      std::printf("%s（%s・%d類）: %s\n", p->name.c_str(),
                  std::string(server::plan_type_name_ja(p->type)).c_str(), p->service_class,
                  report.compliant() ? "✔ 基準を満たしています" : "✘ 基準を満たしていません");
      for (const auto& v : report.violations) {
        std::printf("  ✘ [%s] 要件%s  %s: %s（基準 %s）\n    %s\n    %s\n", v.rule.c_str(),
                    v.requirement.c_str(), v.field.c_str(), v.value.c_str(), v.limit.c_str(),
                    v.message_ja.c_str(), v.message_en.c_str());
      }
      std::printf("  checked: ");
      for (size_t i = 0; i < report.checked.size(); ++i) {
        std::printf("%s%s", i ? ", " : "", report.checked[i].c_str());
      }
      std::printf("\n  caps %s, 消費税 %d%%, initial fee %s\n",
                  policy.caps_include_tax ? "with tax" : "before tax", policy.tax_rate_percent,
                  a->initial_fee.c_str());
    }
    if (!report.compliant()) throw CLI::RuntimeError(1);
  });
}

void add_subsidy_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "subsidy", "IT導入補助金 (セキュリティ対策推進枠) estimate for a plan's fees");
  struct Args {
    int year = 0;
    int64_t monthly_fee = -1, per_device_fee = 0, devices = 1, initial_fee = 0, months = 24;
    bool small_business = false;
    std::string format = "text";
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--year", a->year, "the subsidy's year (2022–2026)")->required();
  cmd->add_option("--monthly-fee", a->monthly_fee, "monthly fee in yen")->required();
  cmd->add_option("--per-device-fee", a->per_device_fee, "monthly fee per device in yen");
  cmd->add_option("--devices", a->devices, "devices contracted (default 1)");
  cmd->add_option("--initial-fee", a->initial_fee, "initial fee in yen");
  cmd->add_option("--months", a->months, "months of fees (default 24; at most 24 are eligible)");
  cmd->add_flag("--small-business", a->small_business,
                "a 小規模事業者 (the higher rate from 2025)");
  cmd->add_option("--format", a->format, "text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->callback([a] {
    server::SubsidyRequest q;
    q.year = a->year;
    q.monthly_fee = a->monthly_fee;
    q.per_device_fee = a->per_device_fee;
    q.devices = a->devices;
    q.initial_fee = a->initial_fee;
    q.months = a->months;
    q.small_business = a->small_business;
    auto r = server::estimate_subsidy(q);
    if (!r.ok()) {
      // "field: why" from the estimate, shown as the option that carries the field.
      std::string m = r.error().message;
      const size_t colon = m.find(':');
      std::string field = colon == std::string::npos ? std::string() : m.substr(0, colon);
      for (auto& ch : field) ch = ch == '_' ? '-' : ch;
      bad_input("subsidy", field.empty() ? m : "--" + field + m.substr(colon));
    }
    if (a->format == "json") {
      std::printf("%s\n", server::subsidy_to_json(*r).c_str());
      return;
    }
    std::printf("%s", server::subsidy_text(*r).c_str());
  });
}

}  // namespace

void add_business_commands(CLI::App& app) {
  add_plan_commands(app);
  add_subsidy_command(app);
}

}  // namespace mimamori::cli
