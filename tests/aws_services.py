"""Loopback stand-ins for the AWS APIs moto does not serve (App Runner, Amplify, Elastic Beanstalk's configuration
settings), each speaking its service's protocol, serving what a test puts in it one item per page (so every test
pages; ``page_size`` changes that), and answering
``AccessDeniedException`` for the operations a test denies (Beanstalk: also ``"operation name"``, for one
environment or template)."""

from __future__ import annotations

import json
import urllib.parse
import xml.etree.ElementTree as ET
from email.message import Message
from typing import Any

from tests.aws_standin import LoopbackServer, Response

ACCOUNT = "123456789012"
REGION = "us-east-1"


class StandIn(LoopbackServer):
    """A service's stand-in: a subclass answers each request in :meth:`serve` and names the operation each request
    called in :attr:`calls`. ``env`` is the variable that points boto3 at it."""

    env = ""
    page_size = 1

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.denied: set[str] = set()
        super().__init__()

    def respond(self, method: str, path: str, headers: Message, body: bytes) -> Response:
        url = urllib.parse.urlsplit(path)
        return self.serve(method, url.path, dict(urllib.parse.parse_qsl(url.query)), headers, body)

    def serve(self, method: str, path: str, query: dict[str, str], headers: Message, body: bytes) -> Response:
        raise NotImplementedError


def page(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
    """``size`` items from ``token`` on (a position), and the token of the next page if there is one."""
    start = int(token or 0)
    return items[start:start + size], str(start + size) if start + size < len(items) else None


def _json(status: int, body: dict[str, Any], content_type: str, headers: dict[str, str] | None = None) -> Response:
    return status, {"Content-Type": content_type, **(headers or {})}, json.dumps(body).encode()


class AppRunner(StandIn):
    """App Runner (JSON 1.0 protocol): ``ListServices`` and ``DescribeService``."""

    env = "AWS_ENDPOINT_URL_APPRUNNER"
    CONTENT = "application/x-amz-json-1.0"

    def __init__(self) -> None:
        super().__init__()
        self.services: list[dict[str, Any]] = []

    def add(self, name: str, source: dict[str, Any]) -> str:
        arn = f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/{name}/{len(self.services):032x}"
        self.services.append({"ServiceName": name, "ServiceArn": arn, "Status": "RUNNING",
                              "SourceConfiguration": source})
        return arn

    def serve(self, method: str, path: str, query: dict[str, str], headers: Message, body: bytes) -> Response:
        operation = headers["X-Amz-Target"].rpartition(".")[2]
        self.calls.append(operation)
        request = json.loads(body or b"{}")
        if operation in self.denied:
            return _json(400, {"__type": "AccessDeniedException", "Message": "not authorized"}, self.CONTENT)
        if operation == "ListServices":
            services, token = page(self.services, request.get("NextToken"), self.page_size)
            summaries = [{k: s[k] for k in ("ServiceName", "ServiceArn", "Status")} for s in services]
            answer = {"ServiceSummaryList": summaries, **({"NextToken": token} if token else {})}
            return _json(200, answer, self.CONTENT)
        if operation == "DescribeService":
            [service] = [s for s in self.services if s["ServiceArn"] == request["ServiceArn"]]
            return _json(200, {"Service": service}, self.CONTENT)
        return _json(400, {"__type": "InvalidRequestException", "Message": operation}, self.CONTENT)


class Amplify(StandIn):
    """Amplify (REST JSON): ``ListApps`` (``GET /apps``) and ``ListBranches`` (``GET /apps/{appId}/branches``)."""

    env = "AWS_ENDPOINT_URL_AMPLIFY"
    CONTENT = "application/json"

    def __init__(self) -> None:
        super().__init__()
        self.apps: list[dict[str, Any]] = []
        self.branches: dict[str, list[dict[str, Any]]] = {}

    def add_app(self, name: str, **settings: Any) -> dict[str, Any]:
        app_id = f"d{len(self.apps):012d}"
        app = {"appId": app_id, "appArn": f"arn:aws:amplify:{REGION}:{ACCOUNT}:apps/{app_id}", "name": name, **settings}
        self.apps.append(app)
        self.branches[app_id] = []
        return app

    def add_branch(self, app: dict[str, Any], name: str, **settings: Any) -> str:
        arn = f"{app['appArn']}/branches/{name}"
        self.branches[app["appId"]].append({"branchArn": arn, "branchName": name, **settings})
        return arn

    def serve(self, method: str, path: str, query: dict[str, str], headers: Message, body: bytes) -> Response:
        parts = path.strip("/").split("/")
        operation = "ListApps" if parts == ["apps"] else "ListBranches" if parts[2:] == ["branches"] else path
        self.calls.append(operation)
        if operation in self.denied:
            return _json(403, {"message": "not authorized"}, self.CONTENT,
                         {"x-amzn-ErrorType": "AccessDeniedException"})
        if operation == "ListApps":
            apps, token = page(self.apps, query.get("nextToken"), self.page_size)
            return _json(200, {"apps": apps, **({"nextToken": token} if token else {})}, self.CONTENT)
        if operation == "ListBranches":
            branches, token = page(self.branches[parts[1]], query.get("nextToken"), self.page_size)
            return _json(200, {"branches": branches, **({"nextToken": token} if token else {})}, self.CONTENT)
        return _json(404, {"message": path}, self.CONTENT, {"x-amzn-ErrorType": "NotFoundException"})


def _xml(parent: ET.Element, value: Any) -> None:
    """``value`` under ``parent`` as the query protocol writes it: a dict's keys as elements, a list's items as
    ``member`` elements."""
    if isinstance(value, dict):
        for key, item in value.items():
            _xml(ET.SubElement(parent, key), item)
    elif isinstance(value, list):
        for item in value:
            _xml(ET.SubElement(parent, "member"), item)
    else:
        parent.text = str(value)


class Beanstalk(StandIn):
    """Elastic Beanstalk (query protocol, XML answers): ``DescribeApplications``, ``DescribeEnvironments`` and
    ``DescribeConfigurationSettings``, which moto lacks."""

    env = "AWS_ENDPOINT_URL_ELASTIC_BEANSTALK"
    NAMESPACE = "http://elasticbeanstalk.amazonaws.com/docs/2010-12-01/"

    def __init__(self) -> None:
        super().__init__()
        self.applications: dict[str, list[str]] = {}
        self.environments: list[dict[str, str]] = []
        self.settings: dict[tuple[str, str], list[dict[str, Any]]] = {}
        """Per (application, environment or template name): its configurations."""

    def add_template(self, application: str, template: str, options: dict[str, str]) -> None:
        self.applications.setdefault(application, []).append(template)
        self.settings[application, template] = [self._configuration(options, None)]

    def add_environment(self, application: str, name: str, options: dict[str, str],
                        draft: dict[str, str] | None = None) -> str:
        self.applications.setdefault(application, [])
        arn = f"arn:aws:elasticbeanstalk:{REGION}:{ACCOUNT}:environment/{application}/{name}"
        self.environments.append({"EnvironmentName": name, "ApplicationName": application, "EnvironmentArn": arn,
                                  "Status": "Ready"})
        self.settings[application, name] = [self._configuration(options, "deployed")] + (
            [self._configuration(draft, "pending")] if draft else [])
        return arn

    @staticmethod
    def _configuration(options: dict[str, str], status: str | None) -> dict[str, Any]:
        settings = [{"Namespace": name.rpartition(":")[0], "OptionName": name.rpartition(":")[2], "Value": value}
                    for name, value in options.items()]
        return {"OptionSettings": settings, **({"DeploymentStatus": status} if status else {})}

    def _error(self, status: int, code: str, message: str) -> Response:
        root = ET.Element("ErrorResponse", xmlns=self.NAMESPACE)
        _xml(root, {"Error": {"Type": "Sender", "Code": code, "Message": message}, "RequestId": "r"})
        return status, {"Content-Type": "text/xml"}, ET.tostring(root)

    def serve(self, method: str, path: str, query: dict[str, str], headers: Message, body: bytes) -> Response:
        form = dict(urllib.parse.parse_qsl(body.decode()))
        operation = form["Action"]
        self.calls.append(operation)
        which = form.get("TemplateName") or form.get("EnvironmentName")
        if operation in self.denied or f"{operation} {which}" in self.denied:
            return self._error(403, "AccessDeniedException", "not authorized")
        if operation == "DescribeApplications":
            result: dict[str, Any] = {"Applications": [
                {"ApplicationName": name,
                 "ApplicationArn": f"arn:aws:elasticbeanstalk:{REGION}:{ACCOUNT}:application/{name}",
                 "ConfigurationTemplates": templates} for name, templates in self.applications.items()]}
        elif operation == "DescribeEnvironments":
            environments, token = page(self.environments, form.get("NextToken"), self.page_size)
            result = {"Environments": environments, **({"NextToken": token} if token else {})}
        elif operation == "DescribeConfigurationSettings":
            result = {"ConfigurationSettings": self.settings[form["ApplicationName"], str(which)]}
        else:
            return self._error(400, "InvalidAction", operation)
        root = ET.Element(f"{operation}Response", xmlns=self.NAMESPACE)
        _xml(root, {f"{operation}Result": result, "ResponseMetadata": {"RequestId": "r"}})
        return 200, {"Content-Type": "text/xml"}, ET.tostring(root)
