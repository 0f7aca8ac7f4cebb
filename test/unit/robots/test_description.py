# SPDX-License-Identifier: Apache-2.0
"""The robot description text (robots/description.py): URDF as published on /robot_description."""

from __future__ import annotations

import pathlib
import re
import urllib.parse
import xml.etree.ElementTree as ElementTree

import pytest

from robot_learning.config import ConfigError
from robot_learning.robots.description import robot_description
from robot_learning.robots.registry import load_robot


def test_project_urdf_is_published_as_its_file_text():
    robot = load_robot('quadruped')
    assert robot_description(robot.urdf_path) == robot.urdf_path.read_text(encoding='utf-8')


def test_pybullet_data_meshes_become_absolute_file_uris_of_existing_files():
    robot = load_robot('laikago')
    source = robot.urdf_path.read_text(encoding='utf-8')
    text = robot_description(robot.urdf_path)
    original = [mesh.get('filename') for mesh in ElementTree.fromstring(source).iter('mesh')]
    published = [mesh.get('filename') for mesh in ElementTree.fromstring(text).iter('mesh')]
    assert len(published) == len(original) > 0
    for before, after in zip(original, published):
        assert after.startswith('file:///'), after
        path = pathlib.Path(urllib.parse.unquote(urllib.parse.urlparse(after).path))
        assert path.is_file(), after
        assert path == (robot.urdf_path.parent / before).resolve()
    # Nothing but the mesh file names changes.
    assert re.sub(r'filename="[^"]*"', '', text) == re.sub(r'filename="[^"]*"', '', source)


def test_uris_and_absolute_mesh_paths_are_kept(tmp_path):
    urdf = tmp_path / 'robot.urdf'
    urdf.write_text('<robot name="r"><link name="a"><visual><geometry>'
                    '<mesh filename="package://pkg/a.stl"/></geometry></visual>'
                    '<collision><geometry><mesh filename="/abs/b.stl"/></geometry></collision>'
                    '</link><link name="b"><visual><geometry>'
                    "<mesh scale='1 1 1' filename='meshes/c.obj'/></geometry></visual></link>"
                    '</robot>')
    text = robot_description(urdf)
    assert 'filename="package://pkg/a.stl"' in text
    assert 'filename="/abs/b.stl"' in text
    assert f"filename='{(tmp_path / 'meshes' / 'c.obj').as_uri()}'" in text


def test_missing_or_non_urdf_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match='not found: .*missing.urdf'):
        robot_description(tmp_path / 'missing.urdf')
    other = tmp_path / 'other.xml'
    other.write_text('<sdf version="1.6"/>')
    with pytest.raises(ConfigError, match='other.xml has no <robot> element'):
        robot_description(other)
