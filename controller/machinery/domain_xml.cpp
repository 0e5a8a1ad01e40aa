#include "machinery/domain_xml.h"

#include <QByteArray>
#include <QString>
#include <QXmlStreamReader>
#include <optional>
#include <vector>

namespace botscope::machinery {

namespace {

util::Error bad_xml(std::string_view what, const std::string& why) {
    return util::Error{"bad_xml", "cannot read libvirt's " + std::string(what) + " XML: " + why};
}

std::string std_string(QStringView s) {
    return s.toString().toStdString();
}

// Walks the elements of a document and hands each start element, with the path of its
// ancestors, to `on_start`; the text of the element named by `want_text` (if any) is collected.
// Returns an error for anything that is not a plain, well-formed, bounded document.
class Walker {
public:
    Walker(std::string_view xml, std::string_view what, std::string_view root)
        : what_(what), root_(root) {
        // fromRawData: no copy; `xml` outlives the reader.
        data_ = QByteArray::fromRawData(xml.data(), static_cast<qsizetype>(xml.size()));
        reader_.addData(data_);
        reader_.setNamespaceProcessing(false);
        size_ = xml.size();
    }

    template <class OnStart, class OnText>
    std::optional<util::Error> run(OnStart on_start, OnText on_text) {
        if (size_ > kMaxXmlBytes)
            return bad_xml(what_, "it is " + std::to_string(size_) + " bytes, over the limit of " +
                                      std::to_string(kMaxXmlBytes));
        std::vector<std::string> path;
        bool seen_root = false;
        while (!reader_.atEnd()) {
            switch (reader_.readNext()) {
                case QXmlStreamReader::DTD:
                    // libvirt never writes one; refusing it rules out entity expansion bombs.
                    return bad_xml(what_,
                                   "it contains a DTD (<!DOCTYPE>), which libvirt never "
                                   "writes");
                case QXmlStreamReader::EntityReference:
                    return bad_xml(what_, "it references an undeclared entity");
                case QXmlStreamReader::StartElement: {
                    std::string name = std_string(reader_.name());
                    if (path.empty()) {
                        if (seen_root || name != root_)
                            return bad_xml(what_, "the root element is <" + name + ">, expected <" +
                                                      std::string(root_) + ">");
                        seen_root = true;
                    }
                    if (static_cast<int>(path.size()) >= kMaxXmlDepth)
                        return bad_xml(what_, "elements are nested deeper than " +
                                                  std::to_string(kMaxXmlDepth) + " levels");
                    on_start(path, name, reader_.attributes());
                    path.push_back(std::move(name));
                    break;
                }
                case QXmlStreamReader::EndElement:
                    if (!path.empty())
                        path.pop_back();
                    break;
                case QXmlStreamReader::Characters:
                    on_text(path, reader_.text());
                    break;
                case QXmlStreamReader::NoToken:
                case QXmlStreamReader::Invalid:
                case QXmlStreamReader::StartDocument:
                case QXmlStreamReader::EndDocument:
                case QXmlStreamReader::Comment:
                case QXmlStreamReader::ProcessingInstruction:
                    break;
            }
        }
        if (reader_.hasError())
            return bad_xml(what_, reader_.errorString().toStdString() + " at line " +
                                      std::to_string(reader_.lineNumber()) + ", column " +
                                      std::to_string(reader_.columnNumber()));
        if (!seen_root)
            return bad_xml(what_, "it is empty (no <" + std::string(root_) + "> element)");
        return std::nullopt;
    }

private:
    std::string what_;
    std::string root_;
    QByteArray data_;
    QXmlStreamReader reader_;
    std::size_t size_ = 0;
};

bool path_is(const std::vector<std::string>& path, std::initializer_list<const char*> want) {
    if (path.size() != want.size())
        return false;
    std::size_t i = 0;
    for (const char* w : want)
        if (path[i++] != w)
            return false;
    return true;
}

std::string attr(const QXmlStreamAttributes& a, const char* name) {
    return a.value(QLatin1String(name)).toString().toStdString();
}

}  // namespace

util::Result<LiveDevices> parse_live_devices(std::string_view xml, std::string_view channel) {
    LiveDevices out;
    int interfaces = 0;     // <interface> elements seen; only the first one counts
    bool in_first = false;  // inside the first <interface>
    // The current unix <channel>'s source and target name; its children come in either order.
    bool in_unix_channel = false;
    std::string channel_path, channel_name;

    Walker walker(xml, "domain", "domain");
    auto on_start = [&](const std::vector<std::string>& path, const std::string& name,
                        const QXmlStreamAttributes& a) {
        if (path_is(path, {"domain", "devices"})) {
            in_first = false;
            in_unix_channel = false;
            if (name == "interface") {
                in_first = ++interfaces == 1;
            } else if (name == "channel" && attr(a, "type") == "unix") {
                in_unix_channel = true;
                channel_path.clear();
                channel_name.clear();
            }
            return;
        }
        if (in_first && path_is(path, {"domain", "devices", "interface"})) {
            if (name == "target")
                out.tap = attr(a, "dev");
            else if (name == "mac")
                out.mac = attr(a, "address");
            else if (name == "source")
                out.network = a.hasAttribute(QLatin1String("network")) ? attr(a, "network")
                                                                       : attr(a, "bridge");
            return;
        }
        if (in_unix_channel && path_is(path, {"domain", "devices", "channel"})) {
            if (name == "source")
                channel_path = attr(a, "path");
            else if (name == "target")
                channel_name = attr(a, "name");
            if (!channel_name.empty() && channel_name == channel && out.agent_socket.empty())
                out.agent_socket = channel_path;
        }
    };
    auto on_text = [](const std::vector<std::string>&, QStringView) {};
    if (auto err = walker.run(on_start, on_text))
        return *err;
    if (interfaces == 0)
        return util::Error{"no_interface",
                           "the domain XML has no <interface>: the VM needs one network "
                           "interface on the analysis network for its traffic to be captured"};
    return out;
}

util::Result<std::string> parse_snapshot_state(std::string_view xml) {
    std::string state;
    bool seen = false;
    Walker walker(xml, "snapshot", "domainsnapshot");
    auto on_start = [&](const std::vector<std::string>& path, const std::string& name,
                        const QXmlStreamAttributes&) {
        if (name == "state" && path_is(path, {"domainsnapshot"}))
            seen = true;
    };
    auto on_text = [&](const std::vector<std::string>& path, QStringView text) {
        if (path_is(path, {"domainsnapshot", "state"}))
            state += text.toString().trimmed().toStdString();
    };
    if (auto err = walker.run(on_start, on_text))
        return *err;
    if (!seen || state.empty())
        return bad_xml("snapshot", "it has no <state>");
    return state;
}

}  // namespace botscope::machinery
