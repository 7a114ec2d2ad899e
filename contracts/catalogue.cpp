#include "contracts/catalogue.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <vector>
#include "contracts/html_escape.h"

namespace contracts {
namespace {

using json = nlohmann::json;

// One payload field as the catalogue shows it.
struct Field {
  std::string pointer;  // "/destination/airport", "/connections/*/std"
  std::string type;     // "string (date-time)", "one of: none, kmar", "array of string", ...
  bool required = false;
  std::string sensitivity;  // "medical" or ""
  std::string description;
};

const json* resolve(const json* node, const json& root) {
  for (int hops = 0; hops < 16 && node && node->is_object(); ++hops) {
    auto ref = node->find("$ref");
    if (ref == node->end() || !ref->is_string()) break;
    const std::string text = ref->get<std::string>();
    if (text.rfind("#", 0) != 0) break;
    try {
      const json::json_pointer target(text.substr(1));
      if (!root.contains(target)) break;
      node = &root.at(target);
    } catch (const json::exception&) {
      break;
    }
  }
  return node;
}

std::string describe_type(const json& s, const json& root) {
  if (auto e = s.find("enum"); e != s.end() && e->is_array()) {
    std::string out = "one of: ";
    for (std::size_t i = 0; i < e->size(); ++i) {
      out += (i ? ", " : "") + ((*e)[i].is_string() ? (*e)[i].get<std::string>() : (*e)[i].dump());
    }
    return out;
  }
  if (auto c = s.find("const"); c != s.end()) return "exactly " + c->dump();
  std::string type = s.contains("type") ? (s["type"].is_string() ? s["type"].get<std::string>()
                                                                   : s["type"].dump())
                                        : std::string("any");
  if (type == "array") {
    if (auto items = s.find("items"); items != s.end() && items->is_object()) {
      type += " of " + describe_type(*resolve(&*items, root), root);
    }
  }
  std::vector<std::string> notes;
  if (auto f = s.find("format"); f != s.end() && f->is_string()) notes.push_back(f->get<std::string>());
  if (auto p = s.find("pattern"); p != s.end() && p->is_string()) {
    notes.push_back("pattern " + p->get<std::string>());
  }
  for (const char* bound : {"minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"}) {
    if (auto b = s.find(bound); b != s.end()) notes.push_back(std::string(bound) + " " + b->dump());
  }
  if (!notes.empty()) {
    type += " (";
    for (std::size_t i = 0; i < notes.size(); ++i) type += (i ? ", " : "") + notes[i];
    type += ")";
  }
  return type;
}

void collect_fields(const json& schema_in, const json& root, const std::string& pointer,
                    std::vector<Field>& out, int depth) {
  const json* schema = resolve(&schema_in, root);
  if (!schema || !schema->is_object() || depth > 16) return;
  std::vector<std::string> required;
  if (auto r = schema->find("required"); r != schema->end() && r->is_array()) {
    for (const auto& name : *r) {
      if (name.is_string()) required.push_back(name.get<std::string>());
    }
  }
  if (auto properties = schema->find("properties");
      properties != schema->end() && properties->is_object()) {
    for (auto it = properties->begin(); it != properties->end(); ++it) {
      const json* child = resolve(&it.value(), root);
      if (!child || !child->is_object()) continue;
      Field field;
      field.pointer = pointer + "/" + it.key();
      field.type = describe_type(*child, root);
      field.required =
          std::find(required.begin(), required.end(), it.key()) != required.end();
      field.sensitivity = it.value().value("x-sensitivity", child->value("x-sensitivity", ""));
      field.description = it.value().value("description", child->value("description", ""));
      out.push_back(field);
      collect_fields(*child, root, field.pointer, out, depth + 1);
    }
  }
  if (auto items = schema->find("items"); items != schema->end() && items->is_object()) {
    collect_fields(*items, root, pointer + "/*", out, depth + 1);
  }
}

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

// One norm in words.
std::string describe_norm(const Norm& norm) {
  const std::string lead = norm.lead == 0 ? "" : "at least " + format_duration(norm.lead) + " ";
  const std::string within = format_duration(norm.within);
  const std::string anchor = norm.after.empty() ? "acceptance" : "`" + norm.after + "`";
  const std::string who = norm.recipients.empty() ? "every recipient" : join(norm.recipients);
  const std::string verb = norm.acknowledged ? "acknowledged by " : "delivered to ";
  std::string text;
  switch (norm.kind) {
    case NormKind::kDeliveredBefore:
      text = verb + who + " " + lead + "before `" + norm.field + "`";
      break;
    case NormKind::kDeliveredWithin:
      text = verb + who + " within " + within + " of " + anchor;
      break;
    case NormKind::kSubmittedWithin:
      text = "accepted by the broker within " + within + " of `" + norm.field + "`";
      break;
    case NormKind::kFollowUp:
    case NormKind::kConfirmedWithin:
      text = "expects " + join(norm.expects) + " (same `" + norm.match + "`) " +
             (norm.field.empty() ? "within " + within + " of " + anchor
                                 : lead + "before `" + norm.field + "`");
      break;
    case NormKind::kTimeBefore:
      text = "`" + norm.field + "` falls " + (norm.lead == 0 ? "at or " : lead) + "before `" + norm.before + "`" +
             (norm.expects.empty() ? "" : " of the latest " + join(norm.expects) + " (same `" + norm.match + "`)");
      break;
    case NormKind::kFollowUpAt:
      text = "expects " + join(norm.expects) + " (same `" + norm.match + "`) whose `" + norm.at + "` falls " +
             (norm.lead == 0 ? "at or " : lead) + "before `" + norm.field + "`" +
             (norm.window > 0 ? ", not more than " + format_duration(norm.window) + " before it" : "") +
             (norm.grace > 0 ? " (reported within " + format_duration(norm.grace) + " after)" : "");
      break;
  }
  if (!norm.when.empty()) {
    std::vector<std::string> conditions;
    for (const auto& [pointer, value] : norm.when) conditions.push_back("`" + pointer + "` = " + value);
    text += ", when " + join(conditions, " and ");
  }
  return text;
}

std::string md_cell(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}


// `code` spans of the norm texts become <code> in HTML.
std::string html_code_spans(const std::string& text) {
  std::string out;
  bool open = false;
  for (const char c : html_escape(text)) {
    if (c == '`') {
      out += open ? "</code>" : "<code>";
      open = !open;
    } else {
      out += c;
    }
  }
  if (open) out += "</code>";
  return out;
}

std::string anchor_of(const std::string& name) {
  std::string out;
  for (const char c : name) out += (c == '.' ? '-' : c);
  return out;
}

constexpr const char* kStyle =
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;"
    "color:#1b1b1b;line-height:1.45}h1{border-bottom:2px solid #154273}h2{margin-top:2.5rem;"
    "color:#154273}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}"
    "th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;"
    "font-size:.92rem}th{background:#eef2f7}code{background:#f3f3f3;padding:0 .2rem}"
    ".medical{background:#fde8e8;color:#8a1c1c;font-weight:600;padding:0 .3rem;border-radius:3px}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}"
    "nav ul{columns:2}";

}  // namespace

Catalogue render_catalogue(const ContractRegistry& registry, const std::string& title) {
  // Group versions by contract; the map orders by name, then version.
  std::map<std::string, std::vector<const Contract*>> by_name;
  for (const auto& [key, contract] : registry.all()) by_name[key.first].push_back(&contract);

  std::string md = "# " + title + "\n\n";
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                     html_escape(title) + "</title><style>" + kStyle + "</style></head><body>\n<h1>" +
                     html_escape(title) + "</h1>\n";
  md += std::to_string(by_name.size()) + " contracts, " + std::to_string(registry.size()) +
        " versions. Fields marked **medical** reach a recipient only under the medical-data "
        "policy (care providers, or a valid consent).\n\n";
  html += "<p>" + std::to_string(by_name.size()) + " contracts, " +
          std::to_string(registry.size()) +
          " versions. Fields marked <span class=\"medical\">medical</span> reach a recipient only "
          "under the medical-data policy (care providers, or a valid consent).</p>\n<nav><ul>\n";
  for (const auto& [name, versions] : by_name) {
    md += "- [" + name + "](#" + anchor_of(name) + ")\n";
    html += "<li><a href=\"#" + anchor_of(name) + "\">" + html_escape(name) + "</a></li>\n";
  }
  md += "\n";
  html += "</ul></nav>\n";

  for (const auto& [name, versions] : by_name) {
    const Contract& latest = *versions.back();
    std::vector<std::string> version_texts;
    for (const Contract* v : versions) {
      version_texts.push_back("v" + std::to_string(v->version) + " (" +
                              std::string(to_string(v->compatibility)) + ")");
    }
    json schema;
    try {
      schema = json::parse(latest.schema_json);
    } catch (const json::exception&) {
      schema = json::object();
    }
    std::vector<Field> fields;
    collect_fields(schema, schema, "", fields, 0);

    // Markdown.
    md += "<a id=\"" + anchor_of(name) + "\"></a>\n## " + name + "\n\n" + latest.description +
          "\n\n";
    md += "- **Owner" + std::string(latest.owners.size() > 1 ? "s" : "") + ":** " +
          join(latest.owners) + "\n";
    md += "- **Consumers:** " + join(latest.consumers) + "\n";
    md += "- **Versions:** " + join(version_texts) + "; fields below are v" +
          std::to_string(latest.version) + "'s\n";
    for (const auto& [partner, pointers] : latest.projections) {
      md += "- **Projection for " + partner + ":** only " + join(pointers) + "\n";
    }
    md += "\n| field | type | required | sensitivity | meaning |\n|---|---|---|---|---|\n";
    for (const Field& f : fields) {
      md += "| `" + md_cell(f.pointer) + "` | " + md_cell(f.type) + " | " +
            (f.required ? "yes" : "") + " | " +
            (f.sensitivity.empty() ? "" : "**" + md_cell(f.sensitivity) + "**") + " | " +
            md_cell(f.description) + " |\n";
    }
    if (!latest.norms.empty()) {
      md += "\n**Norms**\n\n";
      for (const Norm& n : latest.norms) {
        md += "- `" + n.id + "`: " + describe_norm(n) +
              (n.description.empty() ? "" : ". " + n.description) + "\n";
      }
    }
    md += "\n";

    // HTML.
    html += "<section id=\"" + anchor_of(name) + "\"><h2>" + html_escape(name) + "</h2>\n<p>" +
            html_escape(latest.description) + "</p>\n<dl>";
    html += "<dt>Owner" + std::string(latest.owners.size() > 1 ? "s" : "") + "</dt><dd>" +
            html_escape(join(latest.owners)) + "</dd>";
    html += "<dt>Consumers</dt><dd>" + html_escape(join(latest.consumers)) + "</dd>";
    html += "<dt>Versions</dt><dd>" + html_escape(join(version_texts)) + "; fields below are v" +
            std::to_string(latest.version) + "'s</dd>";
    for (const auto& [partner, pointers] : latest.projections) {
      html += "<dt>Projection for " + html_escape(partner) + "</dt><dd>only " +
              html_escape(join(pointers)) + "</dd>";
    }
    html += "</dl>\n<table><thead><tr><th>field</th><th>type</th><th>required</th>"
            "<th>sensitivity</th><th>meaning</th></tr></thead><tbody>\n";
    for (const Field& f : fields) {
      html += "<tr><td><code>" + html_escape(f.pointer) + "</code></td><td>" +
              html_escape(f.type) + "</td><td>" + (f.required ? "yes" : "") + "</td><td>" +
              (f.sensitivity.empty()
                   ? std::string()
                   : "<span class=\"medical\">" + html_escape(f.sensitivity) + "</span>") +
              "</td><td>" + html_escape(f.description) + "</td></tr>\n";
    }
    html += "</tbody></table>\n";
    if (!latest.norms.empty()) {
      html += "<h3>Norms</h3><ul>\n";
      for (const Norm& n : latest.norms) {
        html += "<li><code>" + html_escape(n.id) + "</code>: " + html_code_spans(describe_norm(n)) +
                (n.description.empty() ? "" : ". " + html_escape(n.description)) + "</li>\n";
      }
      html += "</ul>\n";
    }
    html += "</section>\n";
  }
  html += "</body></html>\n";
  return {std::move(md), std::move(html)};
}

}  // namespace contracts
