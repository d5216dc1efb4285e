# embed.cmake - turn IN (text) into OUT, a C file defining
# const char spool_schema_sql[].
file(READ ${IN} text HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${text}")
file(WRITE ${OUT} "/* generated from spool/schema.sql; do not edit */\n"
  "extern const char spool_schema_sql[];\n"
  "const char spool_schema_sql[] = {${bytes} 0x00};\n")
