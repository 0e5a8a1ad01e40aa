# The IRC server that plays the botmaster, and its operator scripts (signatures/operator/):
# pure state machines against session.h (issue 10).
target_sources(botscope_fakenet PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/irc_server.cpp
    ${CMAKE_CURRENT_LIST_DIR}/operator_script.cpp
)
