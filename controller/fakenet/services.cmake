# The services (DNS, SMTP, HTTP, TFTP, the catch-all) and what they serve and decide: pure
# state machines against session.h (issue 10).
target_sources(botscope_fakenet PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/classify.cpp
    ${CMAKE_CURRENT_LIST_DIR}/content.cpp
    ${CMAKE_CURRENT_LIST_DIR}/dns_responder.cpp
    ${CMAKE_CURRENT_LIST_DIR}/http_sink.cpp
    ${CMAKE_CURRENT_LIST_DIR}/raw_sink.cpp
    ${CMAKE_CURRENT_LIST_DIR}/smtp_sink.cpp
    ${CMAKE_CURRENT_LIST_DIR}/tftp_server.cpp
)
