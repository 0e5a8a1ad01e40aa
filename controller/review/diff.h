#pragma once
// What two reports (two variants of a bot, or one sample run twice) do differently: their
// C&C, the commands they received, the behaviours seen, the files and rules involved.

#include <string>
#include <vector>

#include "report/json_common.h"

namespace botscope::review {

using report::Json;

struct DiffSection {
    std::string name;  ///< verdict, cnc, commands, behaviours, files
    std::vector<std::string> only_a, only_b, both;
};

/// One section each, in the order above; each item a short line ("irc C&C 10.66.0.1:6667",
/// "syn flood on 10.66.0.200 ports 80", "dropped <sha256> C:\\x.exe"), compared as text.
std::vector<DiffSection> diff_reports(const Json& a, const Json& b);

/// {"a": label_a, "b": label_b, "sections": {name: {only_a, only_b, both}}, "same": bool}
Json diff_to_json(const std::vector<DiffSection>& d, const std::string& label_a,
                  const std::string& label_b);

/// For a person: per section the lines only in A ("- "), only in B ("+ "), and how many are
/// shared. Text from the reports is escaped for the terminal.
std::string diff_text(const std::vector<DiffSection>& d, const std::string& label_a,
                      const std::string& label_b);

}  // namespace botscope::review
