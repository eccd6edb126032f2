"""DCAT-AP (v3) descriptions of the open catalog and its datasets, as an rdflib graph.

Serialised as JSON-LD (``/catalog.jsonld``) and Turtle (``/catalog.ttl``), and per dataset, so
European-style harvesters (ckanext-dcat, data.europa.eu) can read the portal without a CKAN
extension. Frequencies, access rights and file types use the EU Publications Office authority
tables that DCAT-AP requires.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, SKOS

from citybrain.opendata.ckan import FORMATS, download_url
from citybrain.opendata.models import OpenDataset
from citybrain.opendata.schemas import LICENCES
from citybrain.org.models import Department

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
FREQUENCY = {
    "实时": "CONT",
    "每日": "DAILY",
    "每周": "WEEKLY",
    "每月": "MONTHLY",
    "每季度": "QUARTERLY",
    "每年": "ANNUAL",
    "不定期": "IRREG",
}
ACCESS = {"无条件开放": "PUBLIC", "有条件开放": "RESTRICTED"}
MEDIA = {
    "CSV": "text/csv",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "JSON": "application/json",
}

CONTEXT = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "skos": str(SKOS),
    "vcard": str(VCARD),
    "xsd": str(XSD),
    "owl": str(OWL),
}


def _dt(value: datetime | None) -> Literal | None:
    return Literal(value.isoformat(), datatype=XSD.dateTime) if value is not None else None


def new_graph() -> Graph:
    g = Graph()
    for prefix, ns in CONTEXT.items():
        g.bind(prefix, Namespace(ns))
    return g


def dataset_uri(base: str, ds: OpenDataset) -> URIRef:
    return URIRef(f"{base}/portal/datasets/{ds.name}")


def add_dataset(g: Graph, base: str, ds: OpenDataset, dept: Department) -> URIRef:
    uri = dataset_uri(base, ds)
    g.add((uri, RDF.type, DCAT.Dataset))
    g.add((uri, DCTERMS.identifier, Literal(ds.name)))
    g.add((uri, DCTERMS.title, Literal(ds.title, lang="zh")))
    if ds.title_en:
        g.add((uri, DCTERMS.title, Literal(ds.title_en, lang="en")))
    g.add((uri, DCTERMS.description, Literal(ds.description or ds.title, lang="zh")))
    for tag in ds.tags:
        g.add((uri, DCAT.keyword, Literal(tag, lang="zh")))
    if ds.topic:
        theme = URIRef(f"{base}/portal/topics/{ds.topic}")
        g.add((uri, DCAT.theme, theme))
        g.add((theme, RDF.type, SKOS.Concept))
        g.add((theme, SKOS.prefLabel, Literal(ds.topic, lang="zh")))
    publisher = URIRef(f"{base}/portal/departments/{dept.code}")
    g.add((uri, DCTERMS.publisher, publisher))
    g.add((publisher, RDF.type, FOAF.Organization))
    g.add((publisher, FOAF.name, Literal(dept.name, lang="zh")))
    contact = URIRef(f"{base}/portal/departments/{dept.code}#contact")
    g.add((uri, DCAT.contactPoint, contact))
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, VCARD.fn, Literal(dept.name, lang="zh")))
    for pred, value in ((DCTERMS.issued, ds.published_at), (DCTERMS.modified, ds.data_updated_at or ds.updated_at)):
        lit = _dt(value)
        if lit is not None:
            g.add((uri, pred, lit))
    if ds.update_frequency in FREQUENCY:
        g.add((uri, DCTERMS.accrualPeriodicity, URIRef(f"{EU}frequency/{FREQUENCY[ds.update_frequency]}")))
    g.add((uri, DCTERMS.accessRights, URIRef(f"{EU}access-right/{ACCESS.get(ds.open_type, 'NON_PUBLIC')}")))
    g.add((uri, DCTERMS.language, URIRef(f"{EU}language/ZHO")))
    g.add((uri, DCAT.landingPage, URIRef(f"{base}/portal/datasets/{ds.name}")))
    if ds.version:
        g.add((uri, OWL.versionInfo, Literal(str(ds.version))))
    licence_url = LICENCES.get(ds.licence, ("", ""))[1]
    for fmt, label, _mime in FORMATS:
        dist = URIRef(f"{base}/portal/datasets/{ds.name}#{fmt}")
        g.add((uri, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(f"{ds.title}（{label}）", lang="zh")))
        g.add((dist, DCAT.accessURL, URIRef(f"{base}/portal/datasets/{ds.name}")))
        g.add((dist, DCAT.downloadURL, URIRef(download_url(base, ds, fmt))))
        g.add((dist, DCTERMS.format, URIRef(f"{EU}file-type/{label}")))
        g.add((dist, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{MEDIA[label]}")))
        if licence_url:
            g.add((dist, DCTERMS.license, URIRef(licence_url)))
        lit = _dt(ds.data_updated_at)
        if lit is not None:
            g.add((dist, DCTERMS.modified, lit))
        g.add((dist, DCAT.accessService, URIRef(f"{base}/api/3/action/")))
    return uri


def catalog_graph(base: str, datasets: Iterable[tuple[OpenDataset, Department]]) -> Graph:
    g = new_graph()
    catalog = URIRef(f"{base}/catalog")
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal("常州市公共数据开放平台", lang="zh")))
    g.add((catalog, DCTERMS.title, Literal("Changzhou Open Data Portal", lang="en")))
    g.add(
        (
            catalog,
            DCTERMS.description,
            Literal("城市大脑公共数据开放目录：各部门经首席数据官审核开放的数据集。", lang="zh"),
        )
    )
    g.add((catalog, FOAF.homepage, URIRef(f"{base}/portal")))
    g.add((catalog, DCTERMS.language, URIRef(f"{EU}language/ZHO")))
    operator = URIRef(f"{base}/#operator")
    g.add((catalog, DCTERMS.publisher, operator))
    g.add((operator, RDF.type, FOAF.Organization))
    g.add((operator, FOAF.name, Literal("常州市公共数据开放平台", lang="zh")))
    service = URIRef(f"{base}/api/3/action/")
    g.add((catalog, DCAT.service, service))
    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, DCTERMS.title, Literal("CKAN 兼容数据接口（只读）", lang="zh")))
    g.add((service, DCAT.endpointURL, service))
    latest: datetime | None = None
    for ds, dept in datasets:
        g.add((catalog, DCAT.dataset, add_dataset(g, base, ds, dept)))
        stamp = ds.data_updated_at or ds.updated_at
        latest = stamp if latest is None or (stamp and stamp > latest) else latest
    lit = _dt(latest)
    if lit is not None:
        g.add((catalog, DCTERMS.modified, lit))
    return g


def serialize(g: Graph, fmt: str) -> str:
    if fmt == "ttl":
        return g.serialize(format="turtle")
    return g.serialize(format="json-ld", context=CONTEXT, indent=1, ensure_ascii=False)
