// `mimamori admin catalogue`: the registered plans and IPA's list of registered services.
// `mimamori admin report-mail`: a month's report mails now, as the scheduler does on the 1st.

#include <cstdio>

#include "admin_server_config.h"
#include "commands.h"
#include "mimamori/core/clock.h"
#include "mimamori/server/report_mail.h"
#include "mimamori/server/selfcheck.h"

namespace mimamori::cli {

void add_admin_catalogue_command(CLI::App& admin) {
  struct Args : ServerConfigArgs {
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = admin.add_subcommand(
      "catalogue", "the registered plans and IPA's list of registered services to compare with");
  add_server_config_options(cmd, *a);
  cmd->add_flag("--json", a->json, "print the JSON of GET /api/v1/catalogue");
  cmd->callback([a] {
    const server::ServerOptions options = load_server_config(*a, "catalogue");
    for (const auto& p : options.registered_service_problems) {
      std::fprintf(stderr, "mimamori admin catalogue: warning: %s\n", p.c_str());
    }
    auto store = open_server_store(options, "catalogue");
    auto rows = server::service_catalogue(
        *store, server::Principal::system("mimamori admin catalogue"), options);
    if (!rows.ok()) {
      admin_error("catalogue", rows.error().message);
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
  struct Args : ServerConfigArgs {
    std::string month, customer;
    bool dry_run = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = admin.add_subcommand(
      "report-mail",
      "mail a month's reports now, as the scheduler does on the 1st (once per customer-month)");
  add_server_config_options(cmd, *a);
  cmd->add_option("--month", a->month, "the month, YYYY-MM (JST; ended)")->required();
  cmd->add_option("--customer", a->customer, "only this customer (id)");
  cmd->add_flag("--dry-run", a->dry_run, "list what would be mailed; queue nothing");
  cmd->callback([a] {
    const server::ServerOptions options = load_server_config(*a, "report-mail");
    auto store = open_server_store(options, "report-mail");
    auto r = server::mail_reports_of_month(*store, a->month, a->customer, a->dry_run,
                                           core::now().micros);
    if (!r.ok()) {
      admin_error("report-mail", r.error().message);
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
