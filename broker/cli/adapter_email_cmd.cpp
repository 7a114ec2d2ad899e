// keten adapter email --config FILE [--once]: runs the email adapter for one non-chain party.
#include <CLI/CLI.hpp>

#include <atomic>
#include <iostream>
#include <memory>
#include <optional>

#include "adapters/email/config.h"
#include "adapters/email/email_adapter.h"
#include "adapters/email/handled_mails.h"
#include "adapters/email/mail_source.h"
#include "adapters/email/render.h"
#include "adapters/email/smtp_sender.h"
#include "broker/cli/command.h"
#include "broker/cli/stop_signals.h"

namespace keten_cli {
namespace {

struct EmailOptions {
  std::string config;
  bool once = false;
  double wait_seconds = 2;
};

int fail(int code, std::string_view detail) {
  std::cerr << "keten adapter email: " << detail << "\n";
  return code;
}

int run_email(const EmailOptions& options) {
  std::atomic<bool> stop{false};
  // Before anything starts a thread (the ZeroMQ context does, at connect).
  std::optional<StopSignals> signals;
  if (!options.once) signals.emplace(stop);
  auto config = email::load_email_config(options.config);
  if (!config) return fail(kExitUsage, config.error().detail);
  auto texts = email::ContractTexts::load(config->contracts);
  if (!texts) return fail(kExitUsage, texts.error().detail);
  // Mails go out one at a time: a small window keeps waiting deliveries at the broker, where a
  // slow or refusing SMTP server cannot make them time out and come back as copies.
  partner::ClientOptions client_options;
  client_options.credit = 4;
  auto client = partner::Client::connect(config->profile, client_options);
  if (!client) {
    return fail(exit_code(client.error().code), client.error().detail);
  }
  email::SmtpSender smtp(config->smtp);
  std::unique_ptr<email::MailSource> source;
  if (config->imap) source = email::make_imap_source(*config->imap);
  if (config->maildir) source = email::make_maildir_source(*config->maildir);
  std::optional<email::HandledMails> handled;
  if (source) {
    auto opened = email::HandledMails::open(config->handled_file, email::kHandledRetention, contracts::now_millis());
    if (!opened) return fail(exit_code(opened.error().code), opened.error().detail);
    handled = std::move(*opened);
  }
  email::EmailAdapter adapter(*config, *client, smtp, source.get(), *texts, handled ? &*handled : nullptr);

  if (options.once) {
    // One inbound pass, then mail deliveries until none came for --wait seconds.
    if (auto r = adapter.poll_inbound(); !r) return fail(kExitUnreachable, r.error().detail);
    const auto wait = std::chrono::milliseconds(static_cast<long>(options.wait_seconds * 1000));
    while (true) {
      auto r = adapter.pump_delivery(wait);
      if (!r) return fail(kExitUnreachable, r.error().detail);
      if (!*r) break;
    }
    if (auto connected = client->check_connection(); !connected)
      return fail(kExitUnreachable, connected.error().detail);
    client->close();
    return kExitOk;
  }

  std::cout << "email adapter running party=" << config->party << std::endl;
  if (auto r = adapter.run(stop); !r) return fail(kExitUnreachable, r.error().detail);
  return kExitOk;
}

}  // namespace

Command add_adapter_email(CLI::App& adapter) {
  auto options = std::make_shared<EmailOptions>();
  CLI::App* app = adapter.add_subcommand(
      "email", "Mail deliveries to a non-chain party and submit the mail it sends (docs/email-adapter.md)");
  app->add_option("--config", options->config, "the adapter's TOML file")->required();
  app->add_flag("--once", options->once, "handle waiting mail and deliveries once, then exit");
  app->add_option("--wait", options->wait_seconds, "with --once: stop after this many seconds without a delivery")
      ->capture_default_str();
  return {app, [options] { return run_email(*options); }};
}

}  // namespace keten_cli
