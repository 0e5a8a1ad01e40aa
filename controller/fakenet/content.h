#pragma once
// What fakenet serves for a file a guest asks for, over HTTP or TFTP: the type follows the
// extension, and every body is small, valid for its type and harmless. A bot that downloads
// its "update" gets a program that only exits, so its downloader is seen to work (the bytes
// arrive, the hash names the stub) and nothing runs that could act.
//
// Everything is built in code and deterministic, so a report's hash of a download names the
// stub it got. Limits: every body is at most kMaxContentBytes.

#include <cstddef>
#include <string>
#include <string_view>

namespace botscope::fakenet {

/// No body served is larger (the PE stub, 1 KiB, is the largest).
inline constexpr std::size_t kMaxContentBytes = 2048;

struct Content {
    std::string content_type;  ///< e.g. "application/x-msdownload"
    std::string body;
    std::string kind;  ///< "pe-stub", "elf-stub", "sh-stub", "html", "text", "gif", "jpeg",
                       ///< "png", "ico", "zip"
};

/// What the HTTP sink and TFTP serve for a path (an HTTP request target, absolute URL or not,
/// or a TFTP file name with '/' or '\' separators), by the extension of its last segment,
/// case-insensitive; the query string and fragment are ignored:
///   .exe .dll .scr .com .pif .cpl .sys  -> "pe-stub"  application/x-msdownload
///   .elf .bin .so                       -> "elf-stub" application/octet-stream
///   .sh                                 -> "sh-stub"  application/x-sh (`#!/bin/sh\nexit 0\n`)
///   .htm .html, a directory, no extension -> "html"   text/html (a small page)
///   .gif .jpg .jpeg .png .ico           -> a 1x1 image of that type ("gif", "jpeg", ...)
///   .zip                                -> "zip"      application/zip (an empty archive)
///   .txt .ini .cfg, the bot gates .php .asp .aspx .cgi .pl .jsp, anything else
///                                       -> "text"     text/plain "OK"
Content content_for(std::string_view path);

/// A valid PE32 (i386) console executable that only calls kernel32!ExitProcess(0): one .text
/// section holding the code and an import table for kernel32.dll ExitProcess, image base
/// 0x400000 without relocations, checksum 0, 1024 bytes.
const std::string& pe_stub();

/// A valid static ELF64 x86-64 executable whose only instructions are exit(0) by syscall.
const std::string& elf_stub();

}  // namespace botscope::fakenet
