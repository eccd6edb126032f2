"""DCAT-AP output parses and says what DCAT-AP requires; the migration creates exactly the model's tables."""

from __future__ import annotations

import json
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from tests.opendata.conftest import World

EU = "http://publications.europa.eu/resource/authority/"


def test_catalog_turtle_and_jsonld(client: Any, published: World) -> None:
    ttl = client.get("/catalog.ttl")
    assert ttl.status_code == 200 and ttl.headers["content-type"].startswith("text/turtle")
    g = Graph().parse(data=ttl.text, format="turtle")
    catalogs = list(g.subjects(RDF.type, DCAT.Catalog))
    assert len(catalogs) == 1
    datasets = set(g.objects(catalogs[0], DCAT.dataset))
    assert {str(d).rsplit("/", 1)[-1] for d in datasets} == {"bus-stops", "stop-permits"}
    bus = next(d for d in datasets if str(d).endswith("bus-stops"))
    assert str(g.value(bus, DCTERMS.title)) == "公交站点客流"
    assert g.value(bus, DCTERMS.accrualPeriodicity) == URIRef(f"{EU}frequency/DAILY")
    assert g.value(bus, DCTERMS.accessRights) == URIRef(f"{EU}access-right/PUBLIC")
    permits = next(d for d in datasets if str(d).endswith("stop-permits"))
    assert g.value(permits, DCTERMS.accessRights) == URIRef(f"{EU}access-right/RESTRICTED")
    dists = list(g.objects(bus, DCAT.distribution))
    formats = {str(g.value(d, DCTERMS.format)).rsplit("/", 1)[-1] for d in dists}
    assert formats == {"CSV", "XLSX", "JSON"}
    assert all(g.value(d, DCAT.downloadURL) for d in dists)
    publisher = g.value(bus, DCTERMS.publisher)
    assert publisher is not None and "常州市交通运输局" in {str(o) for o in g.objects(publisher, None)}

    jsonld = client.get("/catalog.jsonld")
    assert jsonld.status_code == 200 and jsonld.headers["content-type"].startswith("application/ld+json")
    json.loads(jsonld.text)
    same = Graph().parse(data=jsonld.text, format="json-ld")
    assert len(same) == len(g)


def test_per_dataset_dcat(client: Any, published: World) -> None:
    g = Graph().parse(data=client.get("/portal/datasets/bus-stops.ttl").text, format="turtle")
    assert len(list(g.subjects(RDF.type, DCAT.Dataset))) == 1
    assert client.get("/portal/datasets/bus-stops.jsonld").status_code == 200
    assert client.get("/portal/datasets/nope.ttl").status_code == 404


def test_migration_matches_the_models(settings: Any, db: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import citybrain.models  # noqa: F401
    from citybrain.db import Base

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def mine(item: Any) -> bool:
        text = repr(item)
        return "open_" in text

    flat = [d for d in diff if mine(d if not isinstance(d, list) else d[0])]
    assert flat == [], flat
