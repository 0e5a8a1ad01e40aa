target_sources(botscope_report PRIVATE json_http.cpp)
