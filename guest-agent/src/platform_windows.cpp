// Windows side of platform.h. Kept to APIs that Windows XP SP3 has; where a newer API is better
// (QueryFullProcessImageNameW, Vista) it is looked up at run time with a fallback, so one .exe
// serves XP to 11. See README.md for the list.
// winsock2.h must come before windows.h; the blank lines keep clang-format from sorting them.
#include <winsock2.h>

#include <ws2tcpip.h>

#include <windows.h>

#include <iphlpapi.h>
#include <ntsecapi.h>
#include <psapi.h>
#include <tlhelp32.h>
#include <winternl.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "platform.h"
#include "protocol/sha256.h"

namespace botscope::guest {

namespace fs = std::filesystem;

namespace {

std::string narrow(const std::wstring& w) {
    if (w.empty())
        return {};
    int n = WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), nullptr, 0,
                                nullptr, nullptr);
    std::string out(static_cast<std::size_t>(n > 0 ? n : 0), '\0');
    if (n > 0)
        WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), out.data(), n,
                            nullptr, nullptr);
    return out;
}

std::wstring widen(const std::string& s) {
    if (s.empty())
        return {};
    int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
    std::wstring out(static_cast<std::size_t>(n > 0 ? n : 0), L'\0');
    if (n > 0)
        MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), out.data(), n);
    return out;
}

/// Closes a HANDLE on scope exit.
struct Handle {
    HANDLE h = nullptr;
    explicit Handle(HANDLE x) : h(x) {}
    ~Handle() {
        if (h && h != INVALID_HANDLE_VALUE)
            CloseHandle(h);
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    bool ok() const { return h && h != INVALID_HANDLE_VALUE; }
};

struct Key {
    HKEY h = nullptr;
    ~Key() {
        if (h)
            RegCloseKey(h);
    }
};

HANDLE as_handle(std::intptr_t v) {
    return reinterpret_cast<HANDLE>(v);
}

// Processes the agent started: kept open so that their exit codes can be read.
std::map<std::uint32_t, HANDLE>& children() {
    static std::map<std::uint32_t, HANDLE> c;
    return c;
}

}  // namespace

std::string last_error_text() {
    DWORD e = GetLastError();
    char buf[512] = {};
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, e,
                             0, buf, sizeof buf, nullptr);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return "Win32 error " + std::to_string(e) + ": " + buf;
}

bool random_bytes(std::span<std::uint8_t> out) {
    // RtlGenRandom (advapi32 SystemFunction036): the OS CSPRNG since XP, with no CryptoAPI
    // context to set up. BCryptGenRandom would need Vista.
    return RtlGenRandom(out.data(), static_cast<ULONG>(out.size())) != FALSE;
}

OsInfo os_info() {
    OsInfo o;
    o.os = "windows";
    o.arch = "x86_64";
    // RtlGetVersion tells the truth where GetVersionEx lies to programs without a manifest.
    using RtlGetVersionFn = LONG(WINAPI*)(OSVERSIONINFOW*);
    OSVERSIONINFOW v{};
    v.dwOSVersionInfoSize = sizeof v;
    auto fn = reinterpret_cast<RtlGetVersionFn>(
        reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "RtlGetVersion")));
    if (fn && fn(&v) == 0)
        o.version = "Windows " + std::to_string(v.dwMajorVersion) + "." +
                    std::to_string(v.dwMinorVersion) + " build " + std::to_string(v.dwBuildNumber) +
                    " " + narrow(v.szCSDVersion);
    wchar_t name[MAX_COMPUTERNAME_LENGTH + 1] = {};
    DWORD len = MAX_COMPUTERNAME_LENGTH + 1;
    if (GetComputerNameW(name, &len))
        o.hostname = narrow(name);
    return o;
}

namespace {
constexpr std::int64_t kEpochDiff100ns = 116444736000000000LL;  // 1601-01-01 .. 1970-01-01
}

namespace {

bool running_under_wine() {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll && GetProcAddress(ntdll, "wine_get_version");
}

// Wine refuses to move the clock by more than half a second, whatever the privileges, and the
// Windows-platform test machine (vm-templates/wineguest) reverts to a snapshot minutes or days
// old. There the clock is Linux's: the guest's start script keeps a FIFO whose reader runs
// `date -s @SECONDS` (Wine's CreateProcess of a Unix program gives no handle to wait on and did
// not run inside the guest). Whole seconds: write at the next second of the controller's clock,
// then check that Wine's clock followed.
std::string set_clock_under_wine(std::int64_t ms) {
    const wchar_t* kHelper = L"Z:\\run\\botscope\\clock";
    DWORD received = GetTickCount();
    HANDLE h = CreateFileW(kHelper, GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    if (h == INVALID_HANDLE_VALUE)
        return "under Wine, the guest's clock helper Z:\\run\\botscope\\clock is missing: " +
               last_error_text();
    Handle helper(h);
    std::int64_t now = ms + static_cast<std::int64_t>(GetTickCount() - received);
    Sleep(static_cast<DWORD>(1000 - now % 1000));
    std::string line = std::to_string(now / 1000 + 1) + "\n";
    DWORD done = 0;
    if (!WriteFile(h, line.data(), static_cast<DWORD>(line.size()), &done, nullptr) ||
        done != line.size())
        return "under Wine, cannot write to the guest's clock helper: " + last_error_text();
    for (int i = 0; i < 300; ++i) {
        std::int64_t want = ms + static_cast<std::int64_t>(GetTickCount() - received);
        if (std::llabs(wall_clock_ms() - want) < 1000)
            return {};
        Sleep(10);
    }
    return "under Wine, the guest's clock helper did not set the clock";
}

}  // namespace

std::int64_t wall_clock_ms() {
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    std::int64_t t = (static_cast<std::int64_t>(ft.dwHighDateTime) << 32) | ft.dwLowDateTime;
    return (t - kEpochDiff100ns) / 10000;
}

std::string set_wall_clock_ms(std::int64_t ms) {
    HANDLE tok = nullptr;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &tok)) {
        Handle t(tok);
        TOKEN_PRIVILEGES tp{};
        tp.PrivilegeCount = 1;
        tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
        if (LookupPrivilegeValueW(nullptr, SE_SYSTEMTIME_NAME, &tp.Privileges[0].Luid))
            AdjustTokenPrivileges(tok, FALSE, &tp, 0, nullptr, nullptr);
    }
    std::int64_t t = ms * 10000 + kEpochDiff100ns;
    FILETIME ft;
    ft.dwLowDateTime = static_cast<DWORD>(t & 0xffffffff);
    ft.dwHighDateTime = static_cast<DWORD>(t >> 32);
    SYSTEMTIME st;
    if (!FileTimeToSystemTime(&ft, &st))
        return last_error_text();
    if (SetSystemTime(&st))
        return {};
    if (GetLastError() == ERROR_PRIVILEGE_NOT_HELD && running_under_wine())
        return set_clock_under_wine(ms);
    return last_error_text();
}

std::uint32_t current_pid() {
    return GetCurrentProcessId();
}

File::File() : h_(reinterpret_cast<std::intptr_t>(INVALID_HANDLE_VALUE)) {}
File::~File() {
    close();
}
File::File(File&& o) noexcept : h_(o.h_) {
    o.h_ = reinterpret_cast<std::intptr_t>(INVALID_HANDLE_VALUE);
}
File& File::operator=(File&& o) noexcept {
    if (this != &o) {
        close();
        h_ = o.h_;
        o.h_ = reinterpret_cast<std::intptr_t>(INVALID_HANDLE_VALUE);
    }
    return *this;
}

File File::create_new(const fs::path& p, std::string& error) {
    File f;
    // CREATE_NEW fails on anything already there, a planted link or junction included.
    HANDLE h = CreateFileW(p.wstring().c_str(), GENERIC_WRITE, 0, nullptr, CREATE_NEW,
                           FILE_ATTRIBUTE_NORMAL, nullptr);
    if (h == INVALID_HANDLE_VALUE)
        error = last_error_text();
    f.h_ = reinterpret_cast<std::intptr_t>(h);
    return f;
}

File File::open_read(const fs::path& p, std::string& error) {
    File f;
    HANDLE h = CreateFileW(p.wstring().c_str(), GENERIC_READ,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (h == INVALID_HANDLE_VALUE) {
        error = last_error_text();
        return f;
    }
    if (GetFileType(h) != FILE_TYPE_DISK) {
        error = "not a regular file";
        CloseHandle(h);
        return f;
    }
    f.h_ = reinterpret_cast<std::intptr_t>(h);
    return f;
}

bool File::is_open() const {
    return as_handle(h_) != INVALID_HANDLE_VALUE;
}

bool File::write_all(std::span<const std::uint8_t> data, std::string& error) {
    std::size_t done = 0;
    while (done < data.size()) {
        DWORD n = 0;
        DWORD want = static_cast<DWORD>(std::min<std::size_t>(data.size() - done, 1u << 20));
        if (!WriteFile(as_handle(h_), data.data() + done, want, &n, nullptr) || n == 0) {
            error = last_error_text();
            return false;
        }
        done += n;
    }
    return true;
}

long long File::read(std::span<std::uint8_t> out) {
    DWORD n = 0;
    DWORD want = static_cast<DWORD>(std::min<std::size_t>(out.size(), 1u << 20));
    if (!ReadFile(as_handle(h_), out.data(), want, &n, nullptr))
        return -1;
    return n;
}

long long File::size() const {
    LARGE_INTEGER li;
    if (!GetFileSizeEx(as_handle(h_), &li))
        return -1;
    return li.QuadPart;
}

void File::close() {
    if (is_open())
        CloseHandle(as_handle(h_));
    h_ = reinterpret_cast<std::intptr_t>(INVALID_HANDLE_VALUE);
}

std::string replace_file(const fs::path& from, const fs::path& to) {
    if (!MoveFileExW(from.wstring().c_str(), to.wstring().c_str(), MOVEFILE_REPLACE_EXISTING))
        return last_error_text();
    return {};
}

namespace {

HANDLE open_process(DWORD extra, std::uint32_t pid) {
    // PROCESS_QUERY_LIMITED_INFORMATION (Vista) opens more processes; XP needs the full right.
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | extra, FALSE, pid);
    if (!h)
        h = OpenProcess(PROCESS_QUERY_INFORMATION | extra, FALSE, pid);
    return h;
}

std::uint64_t creation_time(std::uint32_t pid) {
    Handle h(open_process(0, pid));
    if (!h.ok())
        return 0;
    FILETIME c, e, k, u;
    if (!GetProcessTimes(h.h, &c, &e, &k, &u))
        return 0;
    return (static_cast<std::uint64_t>(c.dwHighDateTime) << 32) | c.dwLowDateTime;
}

// The command line lives in the target's PEB: PEB+0x20 points to RTL_USER_PROCESS_PARAMETERS,
// whose CommandLine UNICODE_STRING is at +0x70 (x64 layouts, stable since XP x64).
std::string read_cmdline(HANDLE h) {
    using NtQip = LONG(WINAPI*)(HANDLE, int, void*, ULONG, ULONG*);
    static auto fn = reinterpret_cast<NtQip>(reinterpret_cast<void*>(
        GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "NtQueryInformationProcess")));
    if (!fn)
        return {};
    PROCESS_BASIC_INFORMATION pbi{};
    ULONG len = 0;
    if (fn(h, 0, &pbi, sizeof pbi, &len) != 0 || !pbi.PebBaseAddress)
        return {};
    auto peb = reinterpret_cast<const std::uint8_t*>(pbi.PebBaseAddress);
    std::uint64_t params = 0;
    SIZE_T got = 0;
    if (!ReadProcessMemory(h, peb + 0x20, &params, sizeof params, &got) || !params)
        return {};
    struct {
        std::uint16_t length, max_length;
        std::uint32_t pad;
        std::uint64_t buffer;
    } us{};
    if (!ReadProcessMemory(h, reinterpret_cast<const void*>(params + 0x70), &us, sizeof us, &got))
        return {};
    std::size_t chars = std::min<std::size_t>(us.length / 2, 4096);
    std::wstring w(chars, L'\0');
    if (chars == 0 ||
        !ReadProcessMemory(h, reinterpret_cast<const void*>(us.buffer), w.data(), chars * 2, &got))
        return {};
    w.resize(got / 2);
    return narrow(w);
}

}  // namespace

std::vector<ProcBasic> list_processes() {
    std::vector<ProcBasic> out;
    Handle snap(CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0));
    if (!snap.ok())
        return out;
    PROCESSENTRY32W pe{};
    pe.dwSize = sizeof pe;
    for (BOOL ok = Process32FirstW(snap.h, &pe); ok; ok = Process32NextW(snap.h, &pe)) {
        ProcBasic p;
        p.pid = pe.th32ProcessID;
        p.ppid = pe.th32ParentProcessID;
        p.start_key = creation_time(p.pid);
        out.push_back(p);
    }
    return out;
}

void process_details(std::uint32_t pid, std::string& image, std::string& cmdline) {
    image.clear();
    cmdline.clear();
    Handle h(open_process(PROCESS_VM_READ, pid));
    if (!h.ok())
        h.h = open_process(0, pid);
    if (!h.ok())
        return;
    using QfpinFn = BOOL(WINAPI*)(HANDLE, DWORD, LPWSTR, PDWORD);
    static auto qfpin = reinterpret_cast<QfpinFn>(reinterpret_cast<void*>(
        GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "QueryFullProcessImageNameW")));
    wchar_t buf[MAX_PATH * 2] = {};
    DWORD len = MAX_PATH * 2;
    if (qfpin && qfpin(h.h, 0, buf, &len))
        image = narrow(std::wstring(buf, len));
    else if (DWORD n = GetModuleFileNameExW(h.h, nullptr, buf, MAX_PATH * 2))
        image = narrow(std::wstring(buf, n));
    cmdline = read_cmdline(h.h);
}

namespace {

// Quoting that CommandLineToArgvW and the MSVC runtime undo: backslashes are literal except
// before a quote.
void append_quoted(std::wstring& cmd, const std::wstring& arg) {
    if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring::npos) {
        cmd += arg;
        return;
    }
    cmd += L'"';
    std::size_t slashes = 0;
    for (wchar_t c : arg) {
        if (c == L'\\') {
            ++slashes;
        } else if (c == L'"') {
            cmd.append(slashes * 2 + 1, L'\\');
            slashes = 0;
        } else {
            cmd.append(slashes, L'\\');
            slashes = 0;
        }
        if (c != L'\\')
            cmd += c;
    }
    cmd.append(slashes * 2, L'\\');
    cmd += L'"';
}

}  // namespace

SpawnResult spawn_detached(const fs::path& exe, const std::vector<std::string>& args,
                           const fs::path& cwd) {
    SpawnResult r;
    std::wstring cmd;
    append_quoted(cmd, exe.wstring());
    for (auto& a : args) {
        cmd += L' ';
        append_quoted(cmd, widen(a));
    }
    STARTUPINFOW si{};
    si.cb = sizeof si;
    PROCESS_INFORMATION pi{};
    if (!CreateProcessW(exe.wstring().c_str(), cmd.data(), nullptr, nullptr, FALSE,
                        CREATE_NEW_PROCESS_GROUP | DETACHED_PROCESS, nullptr, cwd.wstring().c_str(),
                        &si, &pi)) {
        r.error = last_error_text();
        return r;
    }
    CloseHandle(pi.hThread);
    children()[pi.dwProcessId] = pi.hProcess;
    r.pid = pi.dwProcessId;
    return r;
}

void reap_children(std::vector<std::pair<std::uint32_t, int>>& exited) {
    auto& c = children();
    for (auto it = c.begin(); it != c.end();) {
        DWORD code = 0;
        if (WaitForSingleObject(it->second, 0) == WAIT_OBJECT_0 &&
            GetExitCodeProcess(it->second, &code)) {
            exited.emplace_back(it->first, static_cast<int>(code));
            CloseHandle(it->second);
            it = c.erase(it);
        } else {
            ++it;
        }
    }
}

std::vector<std::uint32_t> kill_processes(const std::vector<std::uint32_t>& pids) {
    std::vector<std::uint32_t> killed;
    for (auto pid : pids) {
        Handle h(OpenProcess(PROCESS_TERMINATE, FALSE, pid));
        if (h.ok() && TerminateProcess(h.h, 1))
            killed.push_back(pid);
    }
    return killed;
}

namespace {

std::string ipv4_text(DWORD net_order) {
    auto b = reinterpret_cast<const std::uint8_t*>(&net_order);
    return std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) + "." +
           std::to_string(b[3]);
}

// RFC 5952 text (inet_ntop is Vista+): hex groups, the longest run of zero groups as "::".
std::string ipv6_text(const UCHAR* a) {
    std::uint16_t g[8];
    for (int i = 0; i < 8; ++i)
        g[i] = static_cast<std::uint16_t>(a[2 * i] << 8 | a[2 * i + 1]);
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && g[j] == 0)
            ++j;
        if (j - i > best_len && j - i > 1) {
            best = i;
            best_len = j - i;
        }
        i = j == i ? i + 1 : j;
    }
    std::string out;
    char buf[8];
    for (int i = 0; i < 8; ++i) {
        if (i == best) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':')
            out += ':';
        std::snprintf(buf, sizeof buf, "%x", g[i]);
        out += buf;
    }
    return out;
}

}  // namespace

std::vector<ListenSocket> listening_sockets(std::string& error) {
    std::vector<ListenSocket> out;
    // GetExtendedTcpTable: XP SP2 and later.
    for (ULONG af : {ULONG{AF_INET}, ULONG{AF_INET6}}) {
        DWORD size = 0;
        GetExtendedTcpTable(nullptr, &size, FALSE, af, TCP_TABLE_OWNER_PID_LISTENER, 0);
        if (size == 0)
            continue;
        std::vector<std::uint8_t> buf(size + 4096);
        size = static_cast<DWORD>(buf.size());
        DWORD rc =
            GetExtendedTcpTable(buf.data(), &size, FALSE, af, TCP_TABLE_OWNER_PID_LISTENER, 0);
        if (rc != NO_ERROR) {
            if (af == AF_INET)
                error = "GetExtendedTcpTable failed: " + std::to_string(rc);
            continue;
        }
        if (af == AF_INET) {
            auto* t = reinterpret_cast<MIB_TCPTABLE_OWNER_PID*>(buf.data());
            for (DWORD i = 0; i < t->dwNumEntries; ++i) {
                const auto& row = t->table[i];
                ListenSocket s;
                s.proto = "tcp";
                s.address = ipv4_text(row.dwLocalAddr);
                s.port = ntohs(static_cast<u_short>(row.dwLocalPort));
                s.pid = row.dwOwningPid;
                out.push_back(s);
            }
        } else {
            auto* t = reinterpret_cast<MIB_TCP6TABLE_OWNER_PID*>(buf.data());
            for (DWORD i = 0; i < t->dwNumEntries; ++i) {
                const auto& row = t->table[i];
                ListenSocket s;
                s.proto = "tcp6";
                s.address = ipv6_text(row.ucLocalAddr);
                s.port = ntohs(static_cast<u_short>(row.dwLocalPort));
                s.pid = row.dwOwningPid;
                out.push_back(s);
            }
        }
    }
    return out;
}

namespace {

std::string reg_value_text(DWORD type, const std::vector<std::uint8_t>& data, DWORD size) {
    if (type == REG_SZ || type == REG_EXPAND_SZ || type == REG_MULTI_SZ) {
        std::wstring w(reinterpret_cast<const wchar_t*>(data.data()), size / 2);
        while (!w.empty() && w.back() == L'\0')
            w.pop_back();
        for (auto& c : w)
            if (c == L'\0')
                c = L' ';
        return narrow(w);
    }
    return "hex:" + agent::proto::to_hex({data.data(), std::min<std::size_t>(size, 256)});
}

void read_values(HKEY root, const wchar_t* root_name, const std::wstring& path, REGSAM view,
                 const std::string& kind, std::vector<AutostartEntry>& out) {
    Key k;
    if (RegOpenKeyExW(root, path.c_str(), 0, KEY_READ | view, &k.h) != ERROR_SUCCESS)
        return;
    std::string location =
        narrow(root_name) + "\\" + narrow(path) + (view == KEY_WOW64_32KEY ? " (32-bit view)" : "");
    std::vector<std::uint8_t> data(64 * 1024);
    for (DWORD i = 0; i < 1000; ++i) {
        wchar_t name[16384];
        DWORD name_len = 16384, type = 0, size = static_cast<DWORD>(data.size());
        LONG rc = RegEnumValueW(k.h, i, name, &name_len, nullptr, &type, data.data(), &size);
        if (rc == ERROR_NO_MORE_ITEMS)
            break;
        if (rc != ERROR_SUCCESS)
            continue;
        out.push_back({kind, location, narrow(std::wstring(name, name_len)),
                       reg_value_text(type, data, size)});
    }
}

}  // namespace

std::vector<AutostartEntry> autostart_entries(const fs::path&) {
    std::vector<AutostartEntry> out;
    const std::pair<const wchar_t*, const char*> keys[] = {
        {L"Software\\Microsoft\\Windows\\CurrentVersion\\Run", "run"},
        {L"Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce", "runonce"},
        {L"Software\\Microsoft\\Windows\\CurrentVersion\\RunServices", "run"},
        {L"Software\\Microsoft\\Windows\\CurrentVersion\\RunServicesOnce", "runonce"},
        {L"Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\Run", "run"},
    };
    for (auto& [path, kind] : keys) {
        read_values(HKEY_LOCAL_MACHINE, L"HKLM", path, 0, kind, out);
        read_values(HKEY_LOCAL_MACHINE, L"HKLM", path, KEY_WOW64_32KEY, kind, out);
        read_values(HKEY_CURRENT_USER, L"HKCU", path, 0, kind, out);
    }
    // Winlogon's Shell and Userinit are classic bot persistence too.
    {
        std::vector<AutostartEntry> w;
        read_values(HKEY_LOCAL_MACHINE, L"HKLM",
                    L"Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon", 0, "winlogon", w);
        for (auto& e : w)
            if (e.name == "Shell" || e.name == "Userinit" || e.name == "Taskman")
                out.push_back(std::move(e));
    }
    // Services: one subkey each, with ImagePath.
    Key services;
    const wchar_t* sroot = L"SYSTEM\\CurrentControlSet\\Services";
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, sroot, 0, KEY_READ, &services.h) == ERROR_SUCCESS) {
        std::vector<std::uint8_t> data(64 * 1024);
        for (DWORD i = 0; i < 5000; ++i) {
            wchar_t name[256];
            DWORD name_len = 256;
            LONG rc =
                RegEnumKeyExW(services.h, i, name, &name_len, nullptr, nullptr, nullptr, nullptr);
            if (rc == ERROR_NO_MORE_ITEMS)
                break;
            if (rc != ERROR_SUCCESS)
                continue;
            Key svc;
            if (RegOpenKeyExW(services.h, name, 0, KEY_READ, &svc.h) != ERROR_SUCCESS)
                continue;
            DWORD type = 0, size = static_cast<DWORD>(data.size());
            std::string image;
            if (RegQueryValueExW(svc.h, L"ImagePath", nullptr, &type, data.data(), &size) ==
                ERROR_SUCCESS)
                image = reg_value_text(type, data, size);
            out.push_back({"service", "HKLM\\SYSTEM\\CurrentControlSet\\Services",
                           narrow(std::wstring(name, name_len)), image});
        }
    }
    return out;
}

std::string path_utf8(const fs::path& p) {
    return narrow(p.wstring());
}

fs::path path_from_utf8(const std::string& s) {
    return fs::path(widen(s));
}

}  // namespace botscope::guest
