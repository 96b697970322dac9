# Writes OUT: the migration files NNN_*.sql of DIR, and the function definitions
# functions/*.sql, as C tables (see migrations.h). Fails if a migration defines
# a function.
file(GLOB FILES ${DIR}/[0-9][0-9][0-9]_*.sql)
list(SORT FILES)
file(GLOB FUNCTIONS ${DIR}/functions/*.sql)
list(SORT FUNCTIONS)
set(body "/* generated from the sql/ migrations by sql/embed.cmake; do not edit */\n#include \"migrations.h\"\n\n")

# Appends to body the text of FILE as the NUL-terminated char array VAR.
function(embed_text FILE VAR)
  file(READ ${FILE} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  set(body "${body}static const char ${VAR}[] = {${hex}0x00};\n" PARENT_SCOPE)
endfunction()

set(table "const struct pc_migration pc_migrations[] = {\n")
set(i 0)
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  # A function's one definition is its file in functions/, applied whenever its
  # text changes; a copy in a migration would be applied once and then shadowed,
  # or shadow it. Comments are skipped, so a migration may say why it drops one.
  file(READ ${f} text)
  string(REGEX REPLACE "--[^\n]*" "" text "${text}")
  string(TOUPPER "${text}" text)
  if(text MATCHES "CREATE[ \t\r\n]+(OR[ \t\r\n]+REPLACE[ \t\r\n]+)?(FUNCTION|PROCEDURE)")
    message(FATAL_ERROR "${name}: a numbered migration defines a function or procedure;"
                        " functions live in sql/functions/")
  endif()
  string(REGEX MATCH "^[0-9]+" version ${name})
  math(EXPR version "${version}")
  embed_text(${f} m${i})
  string(APPEND table "\t{${version}, \"${name}\", m${i}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND table "};\nconst int pc_migrations_count = ${i};\n\n")

string(APPEND table "const struct pc_function pc_functions[] = {\n")
set(j 0)
foreach(f ${FUNCTIONS})
  get_filename_component(name ${f} NAME)
  embed_text(${f} f${j})
  string(APPEND table "\t{\"functions/${name}\", f${j}},\n")
  math(EXPR j "${j} + 1")
endforeach()
if(j EQUAL 0)
  # C11 has no empty initializer; the count says there is none
  string(APPEND table "\t{0, 0},\n")
endif()
string(APPEND table "};\nconst int pc_functions_count = ${j};\n")
file(WRITE ${OUT} "${body}\n${table}")
