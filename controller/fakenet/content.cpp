#include "fakenet/content.h"

#include <array>
#include <cstdint>
#include <initializer_list>

#include "util/text.h"

namespace botscope::fakenet {

namespace {

// Little-endian writers into a zero-filled image, at offsets from the format's layout tables.
void put16(std::string& s, std::size_t off, std::uint16_t v) {
    s[off] = static_cast<char>(v & 0xFF);
    s[off + 1] = static_cast<char>(v >> 8);
}
void put32(std::string& s, std::size_t off, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        s[off + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put64(std::string& s, std::size_t off, std::uint64_t v) {
    for (int i = 0; i < 8; ++i)
        s[off + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put_bytes(std::string& s, std::size_t off, std::initializer_list<std::uint8_t> bytes) {
    for (std::uint8_t b : bytes)
        s[off++] = static_cast<char>(b);
}
void put_text(std::string& s, std::size_t off, std::string_view text) {
    s.replace(off, text.size(), text);
}

// The PE stub's layout: headers in the first file-aligned 0x200 bytes, one section at RVA
// 0x1000 (file offset 0x200) holding, in order, the code, the import descriptors, the lookup
// and address tables, the DLL name and the hint/name entry.
constexpr std::uint32_t kImageBase = 0x00400000;
constexpr std::uint32_t kTextRva = 0x1000;
constexpr std::uint32_t kFileAlign = 0x200;
constexpr std::uint32_t kImportRva = kTextRva + 0x10;  // 2 descriptors, the 2nd all zero
constexpr std::uint32_t kIltRva = kTextRva + 0x40;
constexpr std::uint32_t kIatRva = kTextRva + 0x50;
constexpr std::uint32_t kDllNameRva = kTextRva + 0x60;
constexpr std::uint32_t kHintNameRva = kTextRva + 0x70;
constexpr std::uint32_t kTextUsed = 0x80;

std::string build_pe_stub() {
    std::string s(2 * kFileAlign, '\0');
    // DOS header: the values linkers write; e_lfanew puts the PE header right after it.
    put_text(s, 0x00, "MZ");
    put16(s, 0x02, 0x90);    // e_cblp
    put16(s, 0x04, 3);       // e_cp
    put16(s, 0x08, 4);       // e_cparhdr
    put16(s, 0x0C, 0xFFFF);  // e_maxalloc
    put16(s, 0x10, 0xB8);    // e_sp
    put16(s, 0x18, 0x40);    // e_lfarlc
    put32(s, 0x3C, 0x40);    // e_lfanew

    put_text(s, 0x40, std::string_view("PE\0\0", 4));
    // IMAGE_FILE_HEADER
    put16(s, 0x44, 0x014C);  // i386
    put16(s, 0x46, 1);       // one section
    put16(s, 0x54, 0xE0);    // size of the PE32 optional header
    put16(s, 0x56, 0x0103);  // relocations stripped, executable, 32-bit

    // IMAGE_OPTIONAL_HEADER32
    constexpr std::size_t o = 0x58;
    put16(s, o + 0, 0x010B);  // PE32
    s[o + 2] = 6;             // linker 6.0, as MSVC 6 wrote
    put32(s, o + 4, kFileAlign);
    put32(s, o + 16, kTextRva);  // entry point: the first byte of .text
    put32(s, o + 20, kTextRva);  // base of code
    put32(s, o + 24, kTextRva);  // base of data (there is none)
    put32(s, o + 28, kImageBase);
    put32(s, o + 32, 0x1000);  // section alignment
    put32(s, o + 36, kFileAlign);
    put16(s, o + 40, 4);           // OS 4.0: loads on everything from NT 4 on
    put16(s, o + 48, 4);           // subsystem 4.0
    put32(s, o + 56, 0x2000);      // size of image: headers page + .text page
    put32(s, o + 60, kFileAlign);  // size of headers
    put16(s, o + 68, 3);           // console
    put32(s, o + 72, 0x100000);    // stack reserve
    put32(s, o + 76, 0x1000);      // stack commit
    put32(s, o + 80, 0x100000);    // heap reserve
    put32(s, o + 84, 0x1000);      // heap commit
    put32(s, o + 92, 16);          // data directories
    put32(s, o + 96 + 8 * 1, kImportRva);
    put32(s, o + 96 + 8 * 1 + 4, 2 * 20);
    put32(s, o + 96 + 8 * 12, kIatRva);
    put32(s, o + 96 + 8 * 12 + 4, 2 * 4);

    // The section header. Writable as well: older loaders write the IAT in place.
    constexpr std::size_t h = o + 0xE0;
    put_text(s, h, ".text");
    put32(s, h + 8, kTextUsed);
    put32(s, h + 12, kTextRva);
    put32(s, h + 16, kFileAlign);
    put32(s, h + 20, kFileAlign);
    put32(s, h + 36, 0xE0000020);  // code, execute, read, write

    // .text: push 0; call dword [IAT entry]; int3 (never reached).
    constexpr std::size_t t = kFileAlign;
    auto at = [](std::uint32_t rva) { return t + (rva - kTextRva); };
    put_bytes(s, t, {0x6A, 0x00, 0xFF, 0x15});
    put32(s, t + 4, kImageBase + kIatRva);
    put_bytes(s, t + 8, {0xCC});
    put32(s, at(kImportRva) + 0, kIltRva);
    put32(s, at(kImportRva) + 12, kDllNameRva);
    put32(s, at(kImportRva) + 16, kIatRva);
    put32(s, at(kIltRva), kHintNameRva);
    put32(s, at(kIatRva), kHintNameRva);
    put_text(s, at(kDllNameRva), "kernel32.dll");
    put_text(s, at(kHintNameRva) + 2, "ExitProcess");  // hint 0: the loader looks it up by name
    return s;
}

std::string build_elf_stub() {
    constexpr std::uint64_t kBase = 0x400000;
    constexpr std::size_t kEhdr = 64;
    constexpr std::size_t kPhdr = 56;
    constexpr std::size_t kCode = kEhdr + kPhdr;
    // mov eax, 60 (exit); xor edi, edi; syscall
    constexpr std::array<std::uint8_t, 9> code{0xB8, 0x3C, 0x00, 0x00, 0x00,
                                               0x31, 0xFF, 0x0F, 0x05};
    std::string s(kCode + code.size(), '\0');
    put_bytes(s, 0, {0x7F, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* LE */, 1 /* version */});
    put16(s, 16, 2);     // ET_EXEC
    put16(s, 18, 0x3E);  // x86-64
    put32(s, 20, 1);
    put64(s, 24, kBase + kCode);  // entry
    put64(s, 32, kEhdr);          // program headers right after this header
    put16(s, 52, kEhdr);
    put16(s, 54, kPhdr);
    put16(s, 56, 1);
    put16(s, 58, 64);  // section header entry size, though there are none
    // One PT_LOAD, read + execute, mapping the whole file at the base.
    put32(s, kEhdr + 0, 1);
    put32(s, kEhdr + 4, 5);
    put64(s, kEhdr + 16, kBase);
    put64(s, kEhdr + 24, kBase);
    put64(s, kEhdr + 32, s.size());
    put64(s, kEhdr + 40, s.size());
    put64(s, kEhdr + 48, 0x1000);
    for (std::size_t i = 0; i < code.size(); ++i)
        s[kCode + i] = static_cast<char>(code[i]);
    return s;
}

std::string from_bytes(std::initializer_list<std::uint8_t> bytes) {
    std::string s;
    for (std::uint8_t b : bytes)
        s.push_back(static_cast<char>(b));
    return s;
}

// 1x1 images: the classic 43-byte GIF89a (a two-colour palette, one LZW-coded pixel), and a
// grayscale PNG and baseline JPEG written by libpng and libjpeg-turbo (optimised Huffman
// tables), which decode without warnings. The icon and the archive are built below.
const std::string& gif_1x1() {
    static const std::string s = from_bytes({
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    });
    return s;
}

const std::string& png_1x1() {
    static const std::string s = from_bytes({
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
        0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00,
        0x00, 0x3A, 0x7E, 0x9B, 0x55, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x08,
        0xD7, 0x63, 0xF8, 0x0F, 0x00, 0x01, 0x01, 0x01, 0x00, 0x1B, 0xB6, 0xEE, 0x56, 0x00,
        0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    });
    return s;
}

const std::string& jpeg_1x1() {
    static const std::string s = from_bytes({
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xDB, 0x00, 0x43, 0x00, 0x10, 0x0B, 0x0C, 0x0E, 0x0C,
        0x0A, 0x10, 0x0E, 0x0D, 0x0E, 0x12, 0x11, 0x10, 0x13, 0x18, 0x28, 0x1A, 0x18, 0x16, 0x16,
        0x18, 0x31, 0x23, 0x25, 0x1D, 0x28, 0x3A, 0x33, 0x3D, 0x3C, 0x39, 0x33, 0x38, 0x37, 0x40,
        0x48, 0x5C, 0x4E, 0x40, 0x44, 0x57, 0x45, 0x37, 0x38, 0x50, 0x6D, 0x51, 0x57, 0x5F, 0x62,
        0x67, 0x68, 0x67, 0x3E, 0x4D, 0x71, 0x79, 0x70, 0x64, 0x78, 0x5C, 0x65, 0x67, 0x63, 0xFF,
        0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xC4, 0x00,
        0x14, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x07, 0xFF, 0xC4, 0x00, 0x14, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xDA, 0x00, 0x08,
        0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x40, 0x7F, 0xFF, 0xD9,
    });
    return s;
}

// An icon directory with one 1x1 32-bit DIB: BITMAPINFOHEADER (height doubled for the AND
// mask), one BGRA pixel, one AND-mask row padded to 32 bits.
std::string build_ico() {
    constexpr std::size_t kDir = 6 + 16;
    constexpr std::size_t kImage = 40 + 4 + 4;
    std::string s(kDir + kImage, '\0');
    put16(s, 2, 1);   // type: icon
    put16(s, 4, 1);   // one image
    s[6] = 1;         // width
    s[7] = 1;         // height
    put16(s, 10, 1);  // planes
    put16(s, 12, 32);
    put32(s, 14, kImage);
    put32(s, 18, kDir);
    put32(s, kDir + 0, 40);
    put32(s, kDir + 4, 1);
    put32(s, kDir + 8, 2);
    put16(s, kDir + 12, 1);
    put16(s, kDir + 14, 32);
    put32(s, kDir + 20, 8);  // image bytes: pixel + mask
    put_bytes(s, kDir + 40, {0xFF, 0xFF, 0xFF, 0xFF});
    return s;
}

// An empty archive is only its end-of-central-directory record.
std::string build_empty_zip() {
    std::string s(22, '\0');
    put_text(s, 0, "PK\x05\x06");
    return s;
}

// The page Apache 2.2 served from a fresh install, which is what the era's web servers said.
constexpr std::string_view kHtmlPage = "<html><body><h1>It works!</h1></body></html>\n";

/// The extension of the last path segment, lower-case; "/" for a directory or no extension.
std::string extension_of(std::string_view path) {
    if (auto cut = path.find_first_of("?#"); cut != std::string_view::npos)
        path = path.substr(0, cut);
    if (auto scheme = path.find("://"); scheme != std::string_view::npos) {
        const auto slash = path.find('/', scheme + 3);
        path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
    if (auto sep = path.find_last_of("/\\"); sep != std::string_view::npos)
        path = path.substr(sep + 1);
    const auto dot = path.rfind('.');
    if (path.empty() || dot == std::string_view::npos)
        return "/";
    return util::to_lower(path.substr(dot + 1));
}

bool is_one_of(std::string_view ext, std::initializer_list<std::string_view> list) {
    for (auto e : list)
        if (ext == e)
            return true;
    return false;
}

}  // namespace

const std::string& pe_stub() {
    static const std::string s = build_pe_stub();
    return s;
}

const std::string& elf_stub() {
    static const std::string s = build_elf_stub();
    return s;
}

Content content_for(std::string_view path) {
    const std::string ext = extension_of(path);
    if (is_one_of(ext, {"exe", "dll", "scr", "com", "pif", "cpl", "sys"}))
        return {"application/x-msdownload", pe_stub(), "pe-stub"};
    if (is_one_of(ext, {"elf", "bin", "so"}))
        return {"application/octet-stream", elf_stub(), "elf-stub"};
    if (ext == "sh")
        return {"application/x-sh", "#!/bin/sh\nexit 0\n", "sh-stub"};
    if (is_one_of(ext, {"/", "htm", "html"}))
        return {"text/html", std::string(kHtmlPage), "html"};
    if (ext == "gif")
        return {"image/gif", gif_1x1(), "gif"};
    if (ext == "jpg" || ext == "jpeg")
        return {"image/jpeg", jpeg_1x1(), "jpeg"};
    if (ext == "png")
        return {"image/png", png_1x1(), "png"};
    if (ext == "ico") {
        static const std::string ico = build_ico();
        return {"image/x-icon", ico, "ico"};
    }
    if (ext == "zip") {
        static const std::string zip = build_empty_zip();
        return {"application/zip", zip, "zip"};
    }
    // Text files, the bots' PHP/ASP/CGI gates (which only need a reply to go on) and
    // everything else.
    return {"text/plain", "OK", "text"};
}

}  // namespace botscope::fakenet
