/*
 * compat_libxml2 — an honest workload on a real library with a parser: libxml2
 * (Debian's libxml2). Parses the input as an XML document (no network, no entity
 * expansion, no DTD loading), walks it, evaluates an XPath sum over an attribute and
 * answers "elements=N items=I total=T". A sandbox must let a plugin parse documents.
 */
/* attack.h first: it sets the feature macros the system headers read. */
#include "attack.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

static long count_elements(const xmlNode *node)
{
    long n = 0;
    for (; node != NULL; node = node->next) {
        if (node->type == XML_ELEMENT_NODE) {
            n += 1 + count_elements(node->children);
        }
    }
    return n;
}

static sbx_status parse(const atk_input *in, atk_out *out)
{
    if (in->len == 0 || in->len > (1u << 20)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    xmlDoc *doc = xmlReadMemory((const char *)in->data, (int)in->len, "input.xml", "UTF-8",
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        atk_printf(out, "not a document");
        return SBX_ERR_INVALID_ARGUMENT;
    }
    sbx_status status = SBX_ERR_INTERNAL;
    xmlXPathContext *context = xmlXPathNewContext(doc);
    xmlXPathObject *items = context ? xmlXPathEvalExpression(BAD_CAST "count(//item)", context)
                                    : NULL;
    xmlXPathObject *total = context
                                ? xmlXPathEvalExpression(BAD_CAST "sum(//item/@price)", context)
                                : NULL;
    if (items != NULL && total != NULL) {
        atk_printf(out, "elements=%ld items=%.0f total=%.2f",
                   count_elements(xmlDocGetRootElement(doc)), items->floatval, total->floatval);
        status = SBX_OK;
    } else {
        atk_printf(out, "xpath failed");
    }
    xmlXPathFreeObject(items);
    xmlXPathFreeObject(total);
    xmlXPathFreeContext(context);
    xmlFreeDoc(doc);
    return status;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("parse", parse)

void sbx_plugin_shutdown(void)
{
    xmlCleanupParser();
}
